/**
 * Deterministic discrete-event simulation of the SWIM membership core (agent/membership/swim) at
 * pool scale: one SwimCore per node, a virtual clock and a priority queue, no real timers.
 *
 * Network model:
 * - Probe messages (`send` effects) arrive after a uniform latency and are lost with `--loss`.
 *   A send to a killed node is answered, one round trip later, by an `unreachable{refused}` input
 *   (the dial is refused: kill -9 leaves nothing listening).
 * - Updates (`broadcast` effects: dead, left, a member's own alive) are flooded gossipsub-like over
 *   a fixed random mesh of average degree D = 6 (each node links to 3 random others, links are
 *   symmetric): a node forwards an update the first time it sees it to every mesh peer but the one
 *   it came from; each hop has its own latency and loss; duplicates are counted as received bytes
 *   and dropped.
 * - Targeted updates (`tell` effects: a suspicion to the suspect and its observers, a refutation
 *   to the observers and accusers) travel like probes: one message per recipient, latency and
 *   loss, no relay. The core re-sends them itself while they hold (`tellRetransmits`).
 * - Anti-entropy (`sync` effects), in rounds over a stream (no loss): the initiator sends its
 *   summary (digest.ts: one hash per id bucket); the partner answers with its entries in the
 *   buckets that differ; the initiator merges them and sends its own entries of those buckets.
 * - A stalled node processes nothing for 2 s; everything addressed to it waits, in order.
 *
 * Byte estimates (no real codec yet): ping/ack/nack 24 B payload + 60 B framing; ping-req 64 B
 * + 60 B (it carries the target id); an update 80 B + 60 B per hop or per recipient; a sync 60 B per table entry
 * + 60 B, and 4 B per summary bucket. Bytes are counted per node in two windows: idle (before any fault) and churn (faults and
 * the 10 s after them).
 *
 * Run: npm run simulate:membership -- --n 1000 --seconds 60 --kill 5 --stall 5 --join 5
 */
import { pathToFileURL } from 'node:url';
import { defaultSwimConfig, type SwimConfig } from '../agent/membership/swim/config.ts';
import { SwimCore } from '../agent/membership/swim/core.ts';
import { differingBuckets, SUMMARY_BUCKETS, summarize } from '../agent/membership/swim/digest.ts';
import { Roster } from '../agent/membership/swim/overlay.ts';
import { seededRandom } from '../agent/membership/swim/prng.ts';
import type { DigestEntry, Effect, ProbeMessage, Update } from '../agent/membership/swim/types.ts';

export interface SimOptions {
  n: number;
  seconds: number;
  loss: number;
  latency: [number, number];
  seed: number;
  kill: number;
  stall: number;
  join: number;
  /** Nodes that hang for good (no refusal, just silence): the timeout-evidence path. */
  silent?: number;
  config?: Partial<SwimConfig>;
}

const FRAME = 60;
const SIZE = { probe: 24 + FRAME, pingReq: 64 + FRAME, update: 80 + FRAME, entry: 60, summary: 4 * SUMMARY_BUCKETS };
const MESH_LINKS = 3;
const STALL_MS = 2000;

type Ev =
  | { k: 'tick' }
  | { k: 'probe'; from: number; msg: ProbeMessage }
  | { k: 'update'; from: number; u: number }
  | { k: 'tell'; update: Update }
  | { k: 'unreachable'; id: number }
  | { k: 'sync-req'; from: number; summary: number[] }
  | { k: 'sync-resp'; from: number; entries: DigestEntry[]; buckets: number[] }
  | { k: 'sync-final'; entries: DigestEntry[] }
  | { k: 'kill' }
  | { k: 'hang' }
  | { k: 'stall' }
  | { k: 'join' };
type Queued = Ev & { t: number; s: number; node: number };

/** Binary min-heap on (t, s). */
class Queue {
  private readonly h: Queued[] = [];
  private seq = 0;
  get size(): number {
    return this.h.length;
  }
  push(t: number, node: number, ev: Ev): void {
    const h = this.h;
    const e = { ...ev, t, node, s: this.seq++ } as Queued;
    let i = h.push(e) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(e, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }
  pop(): Queued | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || !last) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const c = l + 1 < h.length && less(h[l + 1]!, h[l]!) ? l + 1 : l;
      if (!less(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }
}
const less = (a: Queued, b: Queued): boolean => a.t < b.t || (a.t === b.t && a.s < b.s);

const stats = (xs: number[]) => ({ median: quantile(xs, 0.5), p95: quantile(xs, 0.95), max: quantile(xs, 1) });
const quantile = (xs: number[], q: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]!);
};

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

  // Windows for byte accounting: 0 warm-up, 1 idle, 2 churn, 3 after.
  const faultFrom = T / 3;
  const faultTo = faultFrom + T / 6;
  const windows = [T / 12, faultFrom, Math.min(T, faultTo + 10000), T];
  const bytes = [0, 1, 2, 3].map(() => ({ sent: new Float64Array(total), recv: new Float64Array(total) }));
  let syncBytes = 0;
  let nowT = 0;
  const win = (): number => (nowT < windows[0]! ? 0 : nowT < windows[1]! ? 1 : nowT < windows[2]! ? 2 : 3);
  const count = (node: number, n: number, dir: 'sent' | 'recv'): void => {
    bytes[win()]![dir][node]! += n;
  };
  const syncSend = (node: number, n: number): void => {
    count(node, n, 'sent');
    if (win() === 1 || win() === 2) syncBytes += n;
  };

  // Updates in flight: key → index, who has seen each.
  const updateIndex = new Map<string, number>();
  const updates: Update[] = [];
  const seen: Uint8Array[] = [];

  // Outcomes.
  const killedAt = new Map<number, number>();
  const hungAt = new Map<number, number>();
  const expected = (node: number): boolean => killedAt.has(node) || hungAt.has(node);
  const deadSeen = new Map<number, Float64Array>();
  const joinedAt = new Map<number, number>();
  const joinSeen = new Map<number, Float64Array>();
  const falseDeaths = new Set<string>();
  let falseSuspicions = 0;
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

  const record = (node: number, e: Effect & { type: 'event' }): void => {
    const about = index.get(e.id);
    if (about === undefined) return;
    if (e.event === 'member-dead' && !expected(about)) falseDeaths.add(`${names[node]}→${e.id}`);
    if (e.event === 'member-suspect' && !expected(about)) falseSuspicions++;
    const dead = deadSeen.get(about);
    if (dead && (e.event === 'member-dead' || e.event === 'member-left') && Number.isNaN(dead[node]!))
      dead[node] = nowT;
    const joined = joinSeen.get(about);
    if (joined && (e.event === 'member-joined' || e.event === 'member-recovered') && Number.isNaN(joined[node]!)) {
      joined[node] = nowT;
    }
  };

  const effects = (node: number, fx: Effect[]): void => {
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
        flood(node, i, -1);
      } else if (e.type === 'tell') {
        for (const id of e.to) {
          const to = index.get(id);
          if (to === undefined) continue;
          count(node, SIZE.update, 'sent');
          tellsSent++;
          if (state[to] === 1 && rand() >= o.loss) q.push(nowT + lat(), to, { k: 'tell', update: e.update });
        }
      } else if (e.type === 'event') record(node, e);
      else if (e.type === 'sync') {
        const to = index.get(e.with);
        if (to === undefined) continue;
        syncSend(node, FRAME + SIZE.summary);
        if (state[to] === 2) q.push(nowT + 2 * lat(), node, { k: 'unreachable', id: to });
        else if (state[to] === 1)
          q.push(nowT + lat(), to, { k: 'sync-req', from: node, summary: summarize(cores[node]!.digest()) });
      }
    }
    schedule(node);
  };

  const handle = (e: Queued): void => {
    const node = e.node;
    const core = cores[node];
    const now = nowT;
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
        const buckets = differingBuckets(summarize(core!.digest()), e.summary);
        const entries = buckets.length > 0 ? core!.digest(buckets) : [];
        syncSend(node, FRAME + SIZE.summary + SIZE.entry * entries.length);
        if (state[e.from] === 1 && buckets.length > 0)
          q.push(now + lat(), e.from, { k: 'sync-resp', from: node, entries, buckets });
        return;
      }
      case 'sync-resp': {
        count(node, FRAME + SIZE.summary + SIZE.entry * e.entries.length, 'recv');
        const mine = core!.digest(e.buckets);
        effects(node, core!.step({ type: 'sync', entries: e.entries, now }));
        syncSend(node, FRAME + SIZE.entry * mine.length);
        if (state[e.from] === 1) q.push(now + lat(), e.from, { k: 'sync-final', entries: mine });
        return;
      }
      case 'sync-final':
        count(node, FRAME + SIZE.entry * e.entries.length, 'recv');
        effects(node, core!.step({ type: 'sync', entries: e.entries, now }));
        return;
      case 'kill':
      case 'hang':
        state[node] = e.k === 'kill' ? 2 : 3;
        (e.k === 'kill' ? killedAt : hungAt).set(node, now);
        deadSeen.set(node, new Float64Array(total).fill(Number.NaN));
        return;
      case 'stall':
        busyUntil[node] = now + STALL_MS;
        return;
      case 'join': {
        state[node] = 1;
        startedAt[node] = now;
        joinedAt.set(node, now);
        joinSeen.set(node, new Float64Array(total).fill(Number.NaN));
        for (let i = 0; i < MESH_LINKS; i++) link(node, randomLive());
        cores[node] = new SwimCore({ self: names[node]!, config, rand: seededRandom(o.seed * 7919 + node), now });
        lastTick[node] = now;
        const seed = randomLive();
        q.push(now + lat(), seed, { k: 'sync-req', from: node, summary: summarize(cores[node]!.digest()) });
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
  for (let j = 0; j < o.join; j++) q.push(when(), o.n + j, { k: 'join' });

  for (let e = q.pop(); e && e.t <= T; e = q.pop()) {
    nowT = e.t;
    processed++;
    if (state[e.node]! >= 2) continue;
    if (e.t < busyUntil[e.node]! && e.k !== 'stall') {
      // The node's loop is blocked: the event waits (order kept: later pushes have later seqs).
      if (e.k === 'tick') {
        if (e.t !== tickAt[e.node]) continue;
        tickAt[e.node] = busyUntil[e.node]!;
      }
      q.push(busyUntil[e.node]!, e.node, e);
      continue;
    }
    handle(e);
  }

  // Detection: from the fault until every node that was live then and still is has marked it dead;
  // join convergence: until every such node has seen the joiner alive.
  const settle = (faults: Map<number, number>, marks: Map<number, Float64Array>) => {
    const times: number[] = [];
    let missing = 0;
    for (const [subject, at] of faults) {
      let worst = 0;
      let gap = false;
      const seenAt = marks.get(subject)!;
      for (let j = 0; j < total; j++) {
        if (j === subject || state[j] !== 1 || !(startedAt[j]! <= at)) continue;
        if (Number.isNaN(seenAt[j]!)) gap = true;
        else worst = Math.max(worst, seenAt[j]! - at);
      }
      if (gap) missing++;
      else times.push(worst);
    }
    return { ...stats(times), missing };
  };
  const rates = (w: number) => {
    const span = (windows[w]! - (w === 0 ? 0 : windows[w - 1]!)) / 1000;
    const live: number[] = [];
    for (let j = 0; j < total; j++) if (state[j] === 1 && startedAt[j] === 0) live.push(j);
    const per = (xs: Float64Array) => live.map((j) => xs[j]! / span);
    const s = per(bytes[w]!.sent);
    const r = per(bytes[w]!.recv);
    const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));
    return {
      sentMean: mean(s),
      sentMax: Math.round(Math.max(...s)),
      recvMean: mean(r),
      recvMax: Math.round(Math.max(...r)),
    };
  };
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
    detectionMs: rename(settle(killedAt, deadSeen), 'undetected'),
    silentDetectionMs: rename(settle(hungAt, deadSeen), 'undetected'),
    falseDeaths: falseDeaths.size,
    falseDeathPairs: [...falseDeaths].slice(0, 10),
    falseSuspicionEvents: falseSuspicions,
    joinConvergenceMs: rename(settle(joinedAt, joinSeen), 'unconverged'),
    bytesPerNodePerSecond: { idle: rates(1), churn: rates(2) },
    syncBytesShareIdleChurn: Number((syncBytes / (sumAll(bytes[1]!.sent) + sumAll(bytes[2]!.sent) || 1)).toFixed(3)),
    updatesFlooded: updates.length,
    updatesTold: tellsSent,
    eventsProcessed: processed,
    wallClockMs: Math.round(performance.now() - wallStart),
  };
}

function rename<K extends string>(r: ReturnType<typeof stats> & { missing: number }, key: K) {
  const { missing, ...rest } = r;
  return { ...rest, [key]: missing } as ReturnType<typeof stats> & Record<K, number>;
}

const sumAll = (xs: Float64Array): number => xs.reduce((a, b) => a + b, 0);

const HELP = `simulate-membership: deterministic simulation of the SWIM membership core.

Options (defaults in brackets):
  --n N            pool size [1000]
  --seconds S      simulated seconds [60]
  --loss P         per-message loss probability [0.01]
  --latency A-B    one-way latency, uniform, ms [5-50]
  --seed X         PRNG seed [1]
  --kill K         nodes killed -9 (refused on dial) during the fault window [5]
  --stall S        nodes whose event loop stalls for 2 s during the fault window [5]
  --join J         nodes joining during the fault window [5]
  --silent H       nodes that hang for good (silence, no refusal) during the fault window [0]
  --probe-interval MS, --probe-timeout MS, --indirect-checks K, --tell-retransmits R
                   override the core's defaults (agent/membership/swim/config.ts)
  --json           one compact JSON line (default: indented JSON)
  --help           this text
Faults happen in [T/3, T/2]; bytes are reported for the idle window [T/12, T/3) and the churn
window [T/3, T/2 + 10 s).`;

const TUNABLE = {
  '--probe-interval': 'probeInterval',
  '--probe-timeout': 'probeTimeout',
  '--indirect-checks': 'indirectChecks',
  '--tell-retransmits': 'tellRetransmits',
} as const;

function overrides(args: Map<string, string>, num: (k: string, d: number) => number): Partial<SwimConfig> {
  const out: Partial<SwimConfig> = {};
  for (const [flag, key] of Object.entries(TUNABLE)) if (args.has(flag)) out[key] = num(flag, 0);
  return out;
}

function main(argv: string[]): void {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '--json') args.set(a, '1');
    else if (a.startsWith('--')) args.set(a, argv[++i] ?? '');
  }
  if (args.has('--help')) {
    console.log(HELP);
    return;
  }
  const num = (k: string, d: number): number => {
    const v = args.get(k);
    const n = v === undefined ? d : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${k} wants a non-negative number, got ${v}`);
    return n;
  };
  const [lo, hi] = (args.get('--latency') ?? '5-50').split('-').map(Number);
  const report = simulate({
    n: num('--n', 1000),
    seconds: num('--seconds', 60),
    loss: num('--loss', 0.01),
    latency: [lo ?? 5, hi ?? lo ?? 50],
    seed: num('--seed', 1),
    kill: num('--kill', 5),
    stall: num('--stall', 5),
    join: num('--join', 5),
    silent: num('--silent', 0),
    config: overrides(args, num),
  });
  console.log(args.has('--json') ? JSON.stringify(report) : JSON.stringify(report, null, 2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
