import { encode } from 'cborg';
import { clusterView } from '../../agent/cluster-view.ts';
import { LoadExchange } from '../../agent/load/exchange.ts';
import { ActionLedger } from '../../agent/scaler/ledger.ts';
import { Scaler } from '../../agent/scaler/scaler.ts';
import type { InstanceRecord, RemoterBase } from '../../shared/remoter/types.ts';
import { SCALING_DEFAULTS } from '../../shared/scaling/config.ts';
import type { MemberView } from '../../shared/wire/cluster.ts';
import { decodeFrame, frameToWire, type ProbeFrame } from '../../shared/wire/probe.ts';
import { memberRecord } from './records.ts';

export const peer = (i: number) => `12D3KooW${String(i).padStart(44, 'x')}`;

export interface PoolNode {
  self: string;
  ex: LoadExchange;
  scaler: Scaler;
  /** When this node's scaler launched (virtual ms). */
  launches: number[];
}

/**
 * Rule windows across a failover, without sockets (issue 13): two real nodes, A (leads term 1)
 * and B (follows), each a LoadExchange and a Scaler wired as agent/compose.ts does (the windows,
 * inherited and viewLag options of agent/compose.ts and compose/members.ts), and `n - 2` members that
 * only send load reports, all on one virtual clock. Every member reports `load`. Frames go through
 * the codec. `wired: false` leaves the three options out: the agent before issue 13's change.
 */
export function windowsPool(o: { n: number; expandWhen: string; wired?: boolean }) {
  const ctx = {
    now: 1_000_000,
    load: 0.5,
    /** B's own load when set (an idle follower among busy members); else `load`. */
    bLoad: null as number | null,
    leader: { peerId: peer(0), term: 1 },
    /** Whether the leader holds its lease (the scaler acts only then). */
    acting: true,
    dead: new Set<string>(),
  };
  const ids = Array.from({ length: o.n }, (_, i) => peer(i));
  const loadOf = (id: string) => (id === peer(1) ? (ctx.bLoad ?? ctx.load) : ctx.load);
  const nodes = new Map<string, PoolNode>();
  /** Every summary frame delivered, with its receiver and time. */
  const summaries: Array<{ to: string; at: number; frame: ProbeFrame }> = [];
  const deliver = (from: string, to: string, frame: ProbeFrame) => {
    if (ctx.dead.has(from) || ctx.dead.has(to)) return;
    const decoded = decodeFrame(encode(frameToWire(frame)));
    if (typeof decoded === 'string') throw new Error(decoded);
    if (decoded.t === 'summary') summaries.push({ to, at: ctx.now, frame: decoded });
    nodes.get(to)?.ex.onReport(from, decoded);
  };
  const listed = (): InstanceRecord[] =>
    ids.filter((id) => !ctx.dead.has(id)).map((id) => ({ id, state: 'running', launchedAt: 0, tags: {} }));
  for (const self of [peer(0), peer(1)]) {
    const launches: number[] = [];
    const provider: RemoterBase = {
      provider: 'fake',
      launch: async (req) => {
        launches.push(ctx.now);
        return Array.from({ length: req.count }, (_, i) => ({
          id: `new-${ctx.now}-${i}`,
          state: 'pending' as const,
          launchedAt: ctx.now,
          tags: {},
        }));
      },
      list: async () => listed(),
      terminate: async () => undefined,
    };
    const wired = o.wired ?? true;
    let scaler: Scaler | undefined;
    const ex: LoadExchange = new LoadExchange({
      self: () => self,
      now: () => ctx.now,
      loadInterval: 2000,
      leader: () => ctx.leader,
      metrics: () => ({ load: loadOf(self) }),
      send: async (to, frame) => deliver(self, to, frame),
      memberIds: () => ids.filter((id) => id !== self && !ctx.dead.has(id)),
      maxMembers: 1000,
      ...(wired ? { windows: () => scaler?.windows() ?? [] } : {}),
    });
    scaler = new Scaler({
      pool: 'demo',
      cloud: 'web',
      min: 1,
      max: o.n + 10,
      config: { ...SCALING_DEFAULTS, expandWhen: o.expandWhen, interval: 1000 },
      deadAfter: 5000,
      replaceAfter: 60_000,
      remoter: () => provider,
      ledger: new ActionLedger(),
      now: () => ctx.now,
      leads: () => (ctx.leader.peerId === self && ctx.acting ? ctx.leader.term : null),
      selfPeerId: () => self,
      selfInstanceId: () => self,
      retireSelf: () => undefined,
      members: () => view(self, ex),
      publish: async () => undefined,
      onDecision: () => undefined,
      log: () => undefined,
      ...(wired ? { inherited: () => ex.leaderWindows(), viewLag: () => ex.viewLag() } : {}),
    });
    nodes.set(self, { self, ex, scaler, launches });
  }
  /** A node's /cluster members as the scaler reads them (agent/cluster-view.ts over its load book). */
  const view = (self: string, ex: LoadExchange): MemberView[] =>
    clusterView({
      pool: 'demo',
      self: memberRecord(self, { metrics: { load: loadOf(self) } }),
      selfId: self,
      now: ctx.now,
      leader: null,
      members: ids
        .filter((id) => id !== self && !ctx.dead.has(id))
        .map((id) => ({
          record: memberRecord(id),
          liveness: { id, incarnation: 0, state: 'alive' as const, since: 0 },
          lastHeard: ctx.now,
        })),
      load: ex.book,
    }).members;
  /** One second: the report-only members report, every 2 s the load exchanges tick, the scalers step. */
  const second = async () => {
    ctx.now += 1000;
    for (const id of ids.slice(2))
      deliver(id, ctx.leader.peerId, { t: 'load', term: ctx.leader.term, metrics: { load: ctx.load } });
    if (ctx.now % 2000 === 0) for (const n of nodes.values()) if (!ctx.dead.has(n.self)) await n.ex.tick();
    for (const n of nodes.values()) if (!ctx.dead.has(n.self)) await n.scaler.step();
  };
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 1000) await second();
  };
  /** Runs until a summary reaches `to`, at most `limit` ms; its time. */
  const untilSummary = async (to: string, limit = 200_000) => {
    const seen = summaries.length;
    for (let t = 0; t < limit; t += 1000) {
      await second();
      if (summaries.slice(seen).some((s) => s.to === to)) return ctx.now;
    }
    throw new Error(`no summary to ${to} within ${limit} ms`);
  };
  /** A crashes; B claims term 2 and, its lease come, acts (the report-only members now report to it). */
  const failover = () => {
    ctx.dead.add(peer(0));
    ctx.leader = { peerId: peer(1), term: 2 };
  };
  return { ctx, nodes, summaries, deliver, run, second, untilSummary, failover, a: peer(0), b: peer(1) };
}
