import { join } from 'node:path';
import type { BenchContext, Measure, ScenarioResult } from '../lib/context.ts';
import { machine } from '../lib/context.ts';
import { InprocPool } from '../lib/inproc.ts';
import { LoopbackBlock, P2P_PORT } from '../lib/loopback.ts';
import { sleep } from '../lib/procs.ts';
import { aliveCount, SerfPool } from '../lib/serf.ts';
import { IDLE_SETTLE_MS } from '../lib/settle.ts';
import { summarize } from '../lib/stats.ts';
import { type IdleWindow, idleMeasures, idleWindow, measure } from '../lib/window.ts';
import { oursInProcesses } from './cost-ours.ts';
import { serfSide } from './cost-serf.ts';
import { brief, emptySide, OURS, openWire, SERF, type Side } from './cost-side.ts';

/**
 * What users pay, measured from outside, PoolParty beside Serf in the same run: one agent per
 * process, N agents started at once (seed first), then
 *   1. start → every agent sees N alive (agents' own event times; Serf: `serf members`),
 *   2. an idle window, IDLE_SETTLE_MS after that: wire bytes from the kernel (wire.ts), CPU and VmRSS per pid from /proc,
 *      connections per agent address from /proc/net/tcp,
 *   3. kill -9 of a random non-seed agent, `kills` times: → every live agent marks it dead.
 * PoolParty runs first, then Serf on its own address block; never both at once. Our side is
 * cost-ours.ts, Serf's cost-serf.ts, what a side holds and the wire counter they share cost-side.ts;
 * here the sides become the scenario's rows, and the in-process idle-cost row is taken.
 */

/**
 * Wait between "all see all" and the idle window (ms), both sides. A pool that has just converged
 * is still joining: connections beyond an agent's budget are closed only after 30 s (neighbours'
 * GRACE_MS), each opened or closed connection costs a handshake, identify and gossipsub
 * subscriptions, and anti-entropy runs every 10 s. At 5 s the window held that churn (N=10 at load
 * 44-78: 2,398 B/s, 16 packets/s per agent), not an idle pool's cost.
 */

/** One result row: the headline measure's figures at the top, the rest under `measures`. */
function row(
  scenario: string,
  parameters: Record<string, unknown>,
  headline: Measure,
  rest: Record<string, Measure>,
  detail: Record<string, unknown>,
  error?: string,
): ScenarioResult {
  return {
    scenario,
    parameters,
    ...headline.poolparty,
    unit: headline.unit,
    target: headline.target,
    machine: machine(),
    serf: headline.serf,
    ratio: headline.ratio,
    measures: rest,
    detail: { met: headline.met, ...detail },
    ...(error ? { error } : {}),
  };
}

/** One agent per process at N: idle cost, join convergence and kill -9 detection, beside Serf. */
export async function processCost(ctx: BenchContext, n: number, kills: number): Promise<ScenarioResult[]> {
  const serfBlock = new LoopbackBlock([ctx.loopback]);
  const { wire, note } = openWire(ctx, serfBlock);
  let ours = emptySide();
  let theirs: Side | null = null;
  let error: string | undefined;
  try {
    try {
      ours = await oursInProcesses(ctx, n, kills, wire, IDLE_SETTLE_MS);
    } catch (err) {
      error = (err as Error).message;
      ctx.log('cost-error', { n, error });
    }
    if (ctx.serf) theirs = await serfSide(ctx, n, kills, wire, serfBlock, IDLE_SETTLE_MS);
  } finally {
    wire?.close();
  }
  const params = { n, mode: 'process', windowMs: ours.idle?.windowMs ?? null, kills };
  const idle = ours.idle
    ? idleMeasures(ours.idle, theirs?.idle ?? null, { wire: n >= 50, cpu: n >= 50, rss: true })
    : {};
  const empty0 = measure('B/s', '', null, summarize([]), null);
  const one = (v: number | null) => summarize(v === null ? [] : [v]);
  const conv = measure(
    'ms',
    n >= 100 ? '<= Serf in the same run' : '<= Serf in the same run (target at N=100)',
    theirs?.convergeMs ?? null,
    one(ours.convergeMs),
    theirs ? one(theirs.convergeMs) : null,
  );
  const kill = measure(
    'ms',
    '<= 3000 ms median (N=50 and 100)',
    3000,
    summarize(ours.killMs),
    theirs ? summarize(theirs.killMs) : null,
  );
  return [
    row('idle-cost', params, idle.wireBytesPerAgentPerS ?? empty0, idle, { wire: note }, error),
    row(
      'join-convergence',
      { n, mode: 'process' },
      conv,
      {},
      {
        what: 'all N processes spawned at once after the seed → every agent sees N alive (process start included)',
        timeline: ours.timeline ?? null,
      },
    ),
    row(
      'failure-detection',
      { n, mode: 'process', crash: 'kill -9', kills },
      kill,
      {},
      {
        suspect: summarize(ours.suspectMs),
        missed: ours.missed,
        serfMissed: theirs?.missed ?? [],
        what: 'kill -9 → every live agent emitted member-dead (Serf: every live node lists it failed)',
      },
    ),
  ];
}

/** In-process hosts at N (perHost agents each): idle wire bytes per agent beside Serf at the same N. */
export async function inprocCost(ctx: BenchContext, n: number): Promise<ScenarioResult> {
  const serfBlock = new LoopbackBlock([ctx.loopback]);
  const { wire, note } = openWire(ctx, serfBlock);
  const windowMs = ctx.quick ? 10_000 : 30_000;
  let ours: IdleWindow | null = null;
  let theirs: IdleWindow | null = null;
  let convergeMs: number | null = null;
  let serfConvergeMs: number | null = null;
  let error: string | undefined;
  const perHost = Math.min(ctx.perHost, n);
  try {
    const pool = new InprocPool({
      n,
      perHost,
      hostScript: ctx.build.host,
      dir: join(ctx.dir, `cost-inproc-${n}`),
      loopback: ctx.loopback,
      nodeFlags: ctx.nodeFlags,
    });
    try {
      await pool.prepare();
      const t0 = await pool.startRest();
      const at = await pool.until(() => pool.tracker.convergedAt(pool.peers), 120_000, 250);
      convergeMs = at === null ? null : at - t0;
      if (at === null) {
        const short = pool.tracker.notConverged(pool.peers).map((p) => pool.tracker.aliveSeenBy(p));
        ctx.log('cost-inproc-not-converged', { n, notConverged: short.length, sees: summarize(short) });
      }
      ctx.log('cost-inproc-converged', { n, ms: convergeMs });
      await sleep(ctx.quick ? 2000 : 5000);
      ours = await idleWindow({
        wire,
        label: OURS,
        agents: n,
        pids: pool.hostPids,
        connections: { ips: pool.ips, port: P2P_PORT },
        windowMs,
      });
      ctx.log('cost-inproc-idle', { n, ...brief(ours) });
    } catch (err) {
      error = (err as Error).message;
    } finally {
      await pool.close();
    }
    if (ctx.serf) {
      const serf = new SerfPool(serfBlock);
      try {
        await serf.prepare();
        const t0 = serf.startRest(n);
        const at = await serf.sampleUntil(serf.nodes, (m) => aliveCount(m) === n, 120_000);
        serfConvergeMs = at === null ? null : at - t0;
        await sleep(ctx.quick ? 2000 : 5000);
        theirs = await idleWindow({ wire, label: SERF, agents: n, pids: serf.pids, connections: null, windowMs });
        ctx.log('cost-inproc-serf-idle', { n, convergeMs: serfConvergeMs, ...brief(theirs) });
      } catch (err) {
        ctx.log('serf-error', { scenario: 'cost-inproc', error: (err as Error).message });
      } finally {
        await serf.close();
      }
    }
  } finally {
    wire?.close();
  }
  const idle = ours ? idleMeasures(ours, theirs, { wire: true, cpu: false, rss: false }, perHost) : {};
  const empty0 = measure('B/s', '<= 1000 B/s per agent (constant in N)', 1000, summarize([]), null);
  return row(
    'idle-cost',
    { n, mode: 'in-process', perHost, hosts: Math.ceil(n / perHost), windowMs },
    idle.wireBytesPerAgentPerS ?? empty0,
    idle,
    { wire: note, convergeMs, serfConvergeMs, serfMode: 'one process per node' },
    error,
  );
}
