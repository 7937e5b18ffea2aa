import { join } from 'node:path';
import type { BenchContext, Measure, ScenarioResult } from '../lib/context.ts';
import { machine } from '../lib/context.ts';
import { InprocPool } from '../lib/inproc.ts';
import { LoopbackBlock, P2P_PORT, SERF_PORT } from '../lib/loopback.ts';
import { ProcPool } from '../lib/procpool.ts';
import { sleep } from '../lib/procs.ts';
import { aliveCount, SerfPool } from '../lib/serf.ts';
import { settle } from '../lib/settle.ts';
import { summarize } from '../lib/stats.ts';
import { type IdleWindow, idleMeasures, idleWindow, measure } from '../lib/window.ts';
import { WireCounter } from '../lib/wire.ts';

/**
 * What users pay, measured from outside, PoolParty beside Serf in the same run: one agent per
 * process, N agents started at once (seed first), then
 *   1. start → every agent sees N alive (agents' own event times; Serf: `serf members`),
 *   2. an idle window, SETTLE_MS after that: wire bytes from the kernel (wire.ts), CPU and VmRSS per pid from /proc,
 *      connections per agent address from /proc/net/tcp,
 *   3. kill -9 of a random non-seed agent, `kills` times: → every live agent marks it dead.
 * PoolParty runs first, then Serf on its own address block; never both at once.
 */

const OURS = 'pp';
const SERF = 'serf';

interface Side {
  convergeMs: number | null;
  idle: IdleWindow | null;
  killMs: number[];
  /** kills after which some live agent never marked the victim dead (within the bound). */
  missed: Array<Record<string, unknown>>;
  suspectMs: number[];
  /** Process mode: when the agents reported started and when each saw all N alive (ms from t0). */
  timeline?: Record<string, unknown>;
}

/**
 * Wait between "all see all" and the idle window (ms), both sides. A pool that has just converged
 * is still joining: connections beyond an agent's budget are closed only after 30 s (neighbours'
 * GRACE_MS), each opened or closed connection costs a handshake, identify and gossipsub
 * subscriptions, and anti-entropy runs every 10 s. At 5 s the window held that churn (N=10 at load
 * 44-78: 2,398 B/s, 16 packets/s per agent), not an idle pool's cost.
 */
const SETTLE_MS = 35_000;

const empty = (): Side => ({ convergeMs: null, idle: null, killMs: [], missed: [], suspectMs: [] });

function openWire(ctx: BenchContext, serfBlock: LoopbackBlock): { wire: WireCounter | null; note: string } {
  const w = WireCounter.open([
    { label: OURS, cidr: ctx.loopback.cidr, port: P2P_PORT, protocols: ['tcp'] },
    { label: SERF, cidr: serfBlock.cidr, port: SERF_PORT, protocols: ['tcp', 'udp'] },
  ]);
  if (typeof w === 'string') {
    ctx.log('wire-skipped', { reason: w });
    return { wire: null, note: `wire bytes not measured: ${w}` };
  }
  return { wire: w, note: `iptables chain ${w.chain}: INPUT -i lo, ${ctx.loopback.cidr} tcp/${P2P_PORT}` };
}

async function oursInProcesses(ctx: BenchContext, n: number, kills: number, wire: WireCounter | null): Promise<Side> {
  const side = empty();
  const pool = new ProcPool({
    dir: join(ctx.dir, `cost-${n}`),
    script: ctx.build.agent,
    loopback: ctx.loopback,
    nodeFlags: ctx.nodeFlags,
  });
  try {
    const t0 = await pool.start(n, {
      // Every process imports libp2p (~2 s of CPU each); on 2 shared cores 50 of them take minutes.
      startTimeoutMs: n >= 50 ? 300_000 : 240_000,
      onProgress: (p) => ctx.log('cost-starting', { n, ...p }),
    });
    const ids = pool.agents.map((a) => a.id);
    const conv = await pool.until(() => pool.tracker.convergedAt(ids), n >= 50 ? 120_000 : 60_000);
    side.convergeMs = conv === null ? null : conv - t0;
    const rel = (x: number | null) => (x === null ? null : x - t0);
    side.timeline = {
      startedMs: summarize(pool.agents.slice(1).map((a) => a.startedAt - t0)),
      convergedMs: summarize(
        pool.tracker
          .convergedTimes(ids)
          .map(rel)
          .filter((x): x is number => x !== null),
      ),
    };
    ctx.log('cost-timeline', { n, ...side.timeline });
    if (conv === null) {
      ctx.log('cost-not-converged', { n, stragglers: stragglers(pool, n, t0) });
    }
    ctx.log('cost-converged', { n, ms: side.convergeMs });
    if (ctx.quick) await sleep(2000);
    else {
      const settled = await settle(pool, conv ?? Date.now(), SETTLE_MS);
      side.timeline.settledMs = settled;
      ctx.log('cost-settled', { n, ...settled });
    }
    side.idle = await idleWindow({
      wire,
      label: OURS,
      agents: n,
      pids: pool.agents.map((a) => a.child.pid ?? 0),
      connections: { ips: pool.agents.map((a) => a.ip), port: P2P_PORT },
      windowMs: ctx.quick ? 10_000 : 30_000,
    });
    ctx.log('cost-idle', { n, ...brief(side.idle) });
    for (let r = 0; r < kills && pool.alive.length > 2; r++) {
      const alive = pool.alive;
      const victim = alive[1 + Math.floor(Math.random() * (alive.length - 1))];
      if (!victim) break;
      const at = await pool.kill(victim);
      const observers = pool.alive.map((a) => a.id);
      const last = (type: string) => {
        const times = pool.tracker.firstEvent(observers, type, victim.peerId, at);
        return times.every((x) => x !== null) ? Math.max(...(times as number[])) : null;
      };
      const deadAt = await pool.until(() => last('member-dead'), 30_000);
      const suspectAt = last('member-suspect');
      ctx.log('cost-kill', { n, rep: r, deadMs: deadAt && deadAt - at, suspectMs: suspectAt && suspectAt - at });
      if (deadAt !== null) side.killMs.push(deadAt - at);
      else {
        const times = pool.tracker.firstEvent(observers, 'member-dead', victim.peerId, at);
        side.missed.push({ rep: r, victim: victim.id, notMarkedDeadBy: observers.filter((_, i) => times[i] === null) });
      }
      if (suspectAt !== null) side.suspectMs.push(suspectAt - at);
      await sleep(2000);
    }
  } finally {
    await pool.close();
  }
  return side;
}

async function serfSide(
  ctx: BenchContext,
  n: number,
  kills: number,
  wire: WireCounter | null,
  block: LoopbackBlock,
): Promise<Side> {
  const side = empty();
  const serf = new SerfPool(block);
  try {
    await serf.prepare();
    const t0 = serf.startRest(n);
    const conv = await serf.sampleUntil(serf.nodes, (m) => aliveCount(m) === n, n >= 50 ? 120_000 : 60_000);
    side.convergeMs = conv === null ? null : conv - t0;
    ctx.log('cost-serf-converged', { n, ms: side.convergeMs });
    await sleep(ctx.quick ? 2000 : SETTLE_MS);
    side.idle = await idleWindow({
      wire,
      label: SERF,
      agents: n,
      pids: serf.pids,
      connections: null,
      windowMs: ctx.quick ? 10_000 : 30_000,
    });
    ctx.log('cost-serf-idle', { n, ...brief(side.idle) });
    await serf.timeKills(kills, (rep, ms, victim) => {
      ctx.log('cost-serf-kill', { n, rep, ms });
      if (ms !== null) side.killMs.push(ms);
      else side.missed.push({ rep, victim });
    });
  } catch (err) {
    ctx.log('serf-error', { scenario: 'cost', error: (err as Error).message });
  } finally {
    await serf.close();
  }
  return side;
}

/** Agents that see fewer than n, with how many see them and the membership failures they logged. */
function stragglers(pool: ProcPool, n: number, t0: number) {
  const ids = pool.agents.map((a) => a.id);
  return pool.agents
    .map((a) => ({
      id: a.id,
      sees: pool.tracker.aliveSeenBy(a.id),
      seenBy: pool.tracker.seenAliveBy(ids, a.peerId),
      startedMs: a.startedAt - t0,
      failures: a.logs.length,
      lastFailures: a.logs.slice(-3).map((l) => ({ ...l, at: (l.at as number) - t0 })),
    }))
    .filter((s) => s.sees < n)
    .slice(0, 20);
}

function brief(w: IdleWindow) {
  const med = (xs: number[]) => summarize(xs, 2).median;
  return {
    wireBytesPerAgentPerS: w.wireBytesPerAgentPerS && Math.round(w.wireBytesPerAgentPerS),
    cpuPct: med(w.cpuPct),
    rssMb: med(w.rssMb),
    connections: w.connections && med(w.connections),
  };
}

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
  let ours = empty();
  let theirs: Side | null = null;
  let error: string | undefined;
  try {
    try {
      ours = await oursInProcesses(ctx, n, kills, wire);
    } catch (err) {
      error = (err as Error).message;
      ctx.log('cost-error', { n, error });
    }
    if (ctx.serf) theirs = await serfSide(ctx, n, kills, wire, serfBlock);
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
