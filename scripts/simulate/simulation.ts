import { defaultSwimConfig, type SwimConfig } from '../../agent/membership/swim/config.ts';
import { SwimCore } from '../../agent/membership/swim/core.ts';
import { addCounts } from '../../agent/membership/swim/counts.ts';
import { differingBuckets, summarize } from '../../agent/membership/swim/digest.ts';
import { Roster } from '../../agent/membership/swim/overlay.ts';
import type { Effect, Update } from '../../agent/membership/swim/types.ts';
import { seededRandom } from '../../shared/seeded-random.ts';
import { LateLoops } from './late.ts';
import type { SimOptions } from './options.ts';
import { Outcomes } from './outcomes.ts';
import { Queue, type Queued } from './queue.ts';
import { FRAME, SIZE, Traffic } from './traffic.ts';

/**
 * The simulation itself: one SwimCore per node driven by a virtual clock, the network model of
 * ../simulate-membership.ts (probes, flooded and told updates, anti-entropy, kills, stalls,
 * joins), then the report.
 */

const MESH_LINKS = 3;
const STALL_MS = 2000;
/** How long a joiner waits on a seed that does not answer (hung) before it tries another. */
const JOIN_TIMEOUT_MS = 2000;

export type { SimOptions };

export function simulate(o: SimOptions) {
  const wallStart = performance.now();
  const T = o.seconds * 1000;
  const total = o.n + o.join;
  const config: SwimConfig = { ...defaultSwimConfig(), maxMembers: Math.max(10000, total), ...o.config };
  const rand = seededRandom(o.seed);
  const lat = () => o.latency[0] + rand() * (o.latency[1] - o.latency[0]);
  const names = Array.from({ length: total }, (_, i) => `node-${i}`);
  const index = new Map(names.map((id, i) => [id, i]));
  const cores: (SwimCore | undefined)[] = new Array(total);
  const state = new Uint8Array(total); // 0 absent, 1 live, 2 killed, 3 hung
  const startedAt = new Float64Array(total).fill(Number.NaN);
  const busyUntil = new Float64Array(total);
  const tickAt = new Float64Array(total).fill(Number.POSITIVE_INFINITY);
  const lastTick = new Float64Array(total);
  const mesh: number[][] = Array.from({ length: total }, () => []);
  const q = new Queue();

  const faultFrom = T / 3;
  const faultTo = faultFrom + T / 6;
  const traffic = new Traffic(T, faultFrom, faultTo, total);
  let nowT = 0;
  const count = (node: number, n: number, dir: 'sent' | 'recv'): void => traffic.count(node, n, dir, nowT);
  const syncSend = (node: number, n: number): void => traffic.syncSend(node, n, nowT);

  // Updates in flight: key → index, who has seen each.
  const updateIndex = new Map<string, number>();
  const updates: Update[] = [];
  const seen: Uint8Array[] = [];

  const outcomes = new Outcomes(names, index);
  const late = new LateLoops(o.lateMs ?? 800);
  let tellsSent = 0;
  let processed = 0;

  const link = (a: number, b: number): void => {
    if (a === b || mesh[a]!.includes(b)) return;
    mesh[a]!.push(b);
    mesh[b]!.push(a);
  };
  const randomLive = (): number => {
    for (;;) {
      const i = Math.floor(rand() * total);
      if (state[i] === 1) return i;
    }
  };

  // Each node's sync summary, kept until its table may have changed (an input that carries
  // updates, or any event): a summary is O(N), and follow-ups after news ask for many.
  const summaries: (number[] | undefined)[] = new Array(total);
  const summaryOf = (node: number): number[] => {
    const cached = summaries[node];
    if (cached) return cached;
    const fresh = summarize(cores[node]!.digest());
    summaries[node] = fresh;
    return fresh;
  };

  const schedule = (node: number): void => {
    const core = cores[node]!;
    const want = Math.max(nowT, Math.min(core.wakeAt, lastTick[node]! + config.probeInterval));
    if (want < tickAt[node]!) {
      tickAt[node] = want;
      q.push(want, node, { k: 'tick' });
    }
  };

  const flood = (node: number, u: number, except: number): void => {
    for (const p of mesh[node]!) {
      if (p === except) continue;
      count(node, SIZE.update, 'sent');
      if (state[p] !== 1 || rand() < o.loss) continue;
      q.push(nowT + lat(), p, { k: 'update', from: node, u });
    }
  };

  const effects = (node: number, fx: Effect[]): void => {
    if (fx.some((e) => e.type === 'event')) summaries[node] = undefined;
    for (const e of fx) {
      if (e.type === 'send') {
        const to = index.get(e.to);
        if (to === undefined) continue;
        count(node, e.msg.t === 'ping-req' ? SIZE.pingReq : SIZE.probe, 'sent');
        if (state[to] === 2) q.push(nowT + 2 * lat(), node, { k: 'unreachable', id: to });
        else if (state[to] === 1 && rand() >= o.loss) q.push(nowT + lat(), to, { k: 'probe', from: node, msg: e.msg });
      } else if (e.type === 'broadcast') {
        const u = e.update;
        const key = `${u.kind}:${u.id}:${u.incarnation}:${'from' in u ? u.from : ''}:${'evidence' in u ? u.evidence : ''}`;
        let i = updateIndex.get(key);
        if (i === undefined) {
          i = updates.push(u) - 1;
          updateIndex.set(key, i);
          seen.push(new Uint8Array(total));
        }
        seen[i]![node] = 1;
        if (!(o.unannounced && u.id === names[node] && startedAt[node]! > 0 && u.kind === 'alive')) flood(node, i, -1);
      } else if (e.type === 'tell') {
        for (const id of e.to) {
          const to = index.get(id);
          if (to === undefined) continue;
          count(node, SIZE.update, 'sent');
          tellsSent++;
          if (state[to] === 1 && rand() >= o.loss) q.push(nowT + lat(), to, { k: 'tell', update: e.update });
        }
      } else if (e.type === 'event') outcomes.record(node, e, nowT);
      else if (e.type === 'sync') {
        const to = index.get(e.with);
        if (to === undefined) continue;
        syncSend(node, FRAME + SIZE.summary);
        if (state[to] === 2) q.push(nowT + 2 * lat(), node, { k: 'unreachable', id: to });
        else if (state[to] === 1) q.push(nowT + lat(), to, { k: 'sync-req', from: node, summary: summaryOf(node) });
      }
    }
    schedule(node);
  };

  const handle = (e: Queued): void => {
    const node = e.node;
    const core = cores[node];
    const now = nowT;
    if (e.k !== 'tick' && e.k !== 'probe' && e.k !== 'sync-req') summaries[node] = undefined;
    switch (e.k) {
      case 'tick':
        if (e.t !== tickAt[node]) return;
        tickAt[node] = Number.POSITIVE_INFINITY;
        lastTick[node] = now;
        effects(node, core!.step({ type: 'tick', now }));
        return;
      case 'probe':
        count(node, e.msg.t === 'ping-req' ? SIZE.pingReq : SIZE.probe, 'recv');
        effects(node, core!.step({ type: 'probe', from: names[e.from]!, msg: e.msg, now }));
        return;
      case 'update':
        count(node, SIZE.update, 'recv');
        if (seen[e.u]![node]) return;
        seen[e.u]![node] = 1;
        flood(node, e.u, e.from);
        effects(node, core!.step({ type: 'update', update: updates[e.u]!, now }));
        return;
      case 'tell':
        count(node, SIZE.update, 'recv');
        effects(node, core!.step({ type: 'update', update: e.update, now }));
        return;
      case 'unreachable':
        effects(node, core!.step({ type: 'unreachable', id: names[e.id]!, evidence: 'refused', now }));
        return;
      case 'sync-req': {
        // Round 2: our entries in the buckets where the summaries differ (nothing more if none).
        count(node, FRAME + SIZE.summary, 'recv');
        const buckets = differingBuckets(summaryOf(node), e.summary);
        const entries = buckets.length > 0 ? core!.digest(buckets) : [];
        syncSend(node, FRAME + SIZE.summary + SIZE.entry * entries.length);
        if (state[e.from] === 1 && buckets.length > 0)
          q.push(now + lat(), e.from, { k: 'sync-resp', from: node, entries, buckets });
        return;
      }
      case 'sync-resp': {
        count(node, FRAME + SIZE.summary + SIZE.entry * e.entries.length, 'recv');
        const mine = core!.digest(e.buckets);
        effects(node, core!.step({ type: 'sync', entries: e.entries, from: names[e.from], now }));
        syncSend(node, FRAME + SIZE.entry * mine.length);
        if (state[e.from] === 1) q.push(now + lat(), e.from, { k: 'sync-final', from: node, entries: mine });
        return;
      }
      case 'sync-final':
        count(node, FRAME + SIZE.entry * e.entries.length, 'recv');
        effects(node, core!.step({ type: 'sync', entries: e.entries, from: names[e.from], now }));
        return;
      case 'kill':
      case 'hang':
        state[node] = e.k === 'kill' ? 2 : 3;
        outcomes.failed(node, e.k, now);
        return;
      case 'stall':
        busyUntil[node] = now + STALL_MS;
        return;
      case 'join': {
        state[node] = 1;
        startedAt[node] = now;
        outcomes.joined(node, now);
        for (let i = 0; i < MESH_LINKS; i++) link(node, randomLive());
        cores[node] = new SwimCore({ self: names[node]!, config, rand: seededRandom(o.seed * 7919 + node), now });
        lastTick[node] = now;
        let seed = randomLive();
        while (seed === node) seed = randomLive(); // a joiner that "joined" through itself stayed unknown
        q.push(now + lat(), seed, { k: 'sync-req', from: node, summary: summaryOf(node) });
        effects(node, cores[node]!.step({ type: 'tick', now }));
        return;
      }
    }
  };

  // The initial pool: every node knows every other through one shared roster.
  const roster = new Roster(
    names.slice(0, o.n).map((id) => ({ id, incarnation: 0, state: 'alive' as const })),
    config.rings,
    0,
  );
  for (let i = 0; i < o.n; i++) {
    state[i] = 1;
    startedAt[i] = 0;
    cores[i] = new SwimCore({ self: names[i]!, config, rand: seededRandom(o.seed * 7919 + i), now: 0, roster });
  }
  for (let i = 0; i < o.n; i++) for (let l = 0; l < MESH_LINKS; l++) link(i, Math.floor(rand() * o.n));
  for (let i = 0; i < o.n; i++) effects(i, cores[i]!.step({ type: 'tick', now: 0 }));

  // Faults: distinct random victims and stalled nodes among the initial pool; joiners after it.
  const order = Array.from({ length: o.n }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const when = () => faultFrom + rand() * (faultTo - faultFrom);
  for (const node of order.slice(0, o.kill)) q.push(when(), node, { k: 'kill' });
  for (const node of order.slice(o.kill, o.kill + o.stall)) q.push(when(), node, { k: 'stall' });
  const silent = o.silent ?? 0;
  for (const node of order.slice(o.kill + o.stall, o.kill + o.stall + silent)) q.push(when(), node, { k: 'hang' });
  for (const node of order.slice(o.kill + o.stall + silent, o.kill + o.stall + silent + (o.late ?? 0))) {
    const from = when();
    late.add(node, from, from + (o.lateSeconds ?? 20) * 1000, o.seed * 7907 + node);
    outcomes.late(node);
  }
  for (let j = 0; j < o.join; j++) q.push(when(), o.n + j, { k: 'join' });

  for (let e = q.pop(); e && e.t <= T; e = q.pop()) {
    nowT = e.t;
    processed++;
    if (state[e.node]! >= 2) {
      // A joiner's seed is gone: refused at once (killed) or silent (hung); it tries another, as
      // the shell's Joining does (agent/membership/joining.ts). Before, such a joiner stayed alone.
      if (e.k === 'sync-req' && state[e.from] === 1 && cores[e.from]!.members().length === 1) {
        let seed = randomLive();
        while (seed === e.from) seed = randomLive();
        q.push(nowT + (state[e.node] === 2 ? 2 * lat() : JOIN_TIMEOUT_MS), seed, e);
      }
      continue;
    }
    // The node's loop is blocked (stall) or busy (late): the event waits (in order, ticks first).
    const held = e.t < busyUntil[e.node]! && e.k !== 'stall' ? busyUntil[e.node]! : late.hold(e.node, e, e.t);
    if (held !== undefined) {
      if (e.k === 'tick') {
        if (e.t !== tickAt[e.node]) continue;
        tickAt[e.node] = held;
      }
      q.push(held, e.node, e);
      continue;
    }
    handle(e);
  }

  // The initial pool's members still live at the end are the ones whose traffic is reported.
  const live: number[] = [];
  for (let j = 0; j < total; j++) if (state[j] === 1 && startedAt[j] === 0) live.push(j);
  return {
    n: o.n,
    config: o.config ?? {},
    seconds: o.seconds,
    seed: o.seed,
    loss: o.loss,
    latencyMs: o.latency,
    kills: o.kill,
    stalls: o.stall,
    joins: o.join,
    ...outcomes.report((j, at) => state[j] === 1 && startedAt[j]! <= at),
    bytesPerNodePerSecond: { idle: traffic.rates(1, live), churn: traffic.rates(2, live) },
    syncBytesShareIdleChurn: traffic.syncShare(),
    updatesFlooded: updates.length,
    updatesTold: tellsSent,
    counts: cores.flatMap((c) => (c ? [c.counts] : [])).reduce(addCounts),
    eventsProcessed: processed,
    wallClockMs: Math.round(performance.now() - wallStart),
  };
}
