import { join } from 'node:path';
import type { BenchContext, ScenarioResult } from '../lib/context.ts';
import { machine } from '../lib/context.ts';
import { InprocPool } from '../lib/inproc.ts';
import { aliveCount, SerfPool } from '../lib/serf.ts';
import { percentile, ratio, summarize } from '../lib/stats.ts';

export interface ConvergenceRun {
  /** start issued → every agent sees n alive (ms); null if it did not within the timeout. */
  ms: number | null;
  /** Median time for one agent.start() to resolve (ms). */
  startMedianMs: number | null;
  /** Agents that had not converged at the timeout (at most 5 listed, with their alive count). */
  stragglers?: Array<{ sees: number }>;
  /** At the timeout: agents whose join never got through, and (agent, member) pairs still missing (tracker.ts). */
  neverJoined?: number;
  missingPairs?: number;
  missingOfJoined?: number;
  hostLagP99Ms?: number[];
}

let runs = 0;

/** One convergence run of our agents: seed up, then n-1 agents started at once with the seed as bootstrap. */
export async function convergeOurs(ctx: BenchContext, n: number, timeoutMs: number): Promise<ConvergenceRun> {
  const pool = new InprocPool({
    n,
    perHost: ctx.perHost,
    hostScript: ctx.build.host,
    dir: join(ctx.dir, `conv-${n}-${++runs}`),
    loopback: ctx.loopback,
    nodeFlags: ctx.nodeFlags,
  });
  try {
    await pool.prepare();
    await pool.lag();
    const t0 = await pool.startRest();
    const at = await pool.until(() => pool.tracker.convergedAt(pool.peers), timeoutMs - (Date.now() - t0));
    const lag = await pool.lag();
    const run: ConvergenceRun = {
      ms: at === null ? null : at - t0,
      startMedianMs: percentile(pool.startMs.slice(1), 50),
      hostLagP99Ms: lag.map((l) => Math.round(l.p99Ms)),
    };
    if (at === null) {
      run.stragglers = pool.tracker
        .notConverged(pool.peers)
        .slice(0, 5)
        .map((p) => ({ sees: pool.tracker.aliveSeenBy(p) }));
      const why = pool.tracker.missingPairs(pool.peers);
      run.neverJoined = why.neverJoined.length;
      run.missingPairs = why.missing;
      run.missingOfJoined = why.ofJoined;
    }
    return run;
  } finally {
    await pool.close();
  }
}

export async function convergeSerf(ctx: BenchContext, n: number, timeoutMs: number): Promise<number | null> {
  const serf = new SerfPool(ctx.loopback);
  try {
    await serf.prepare();
    const t0 = serf.startRest(n);
    const at = await serf.sampleUntil(serf.nodes, (m) => aliveCount(m) === n, timeoutMs);
    return at === null ? null : at - t0;
  } finally {
    await serf.close();
  }
}

export async function convergence(ctx: BenchContext, n: number, reps: number): Promise<ScenarioResult> {
  const ours: number[] = [];
  const serf: number[] = [];
  const starts: number[] = [];
  const lags: number[][] = [];
  const stragglers: unknown[] = [];
  const neverJoined: number[] = [];
  let failures = 0;
  for (let r = 0; r < reps; r++) {
    const run = await convergeOurs(ctx, n, 30_000);
    ctx.log('convergence', { n, rep: r, ...run });
    if (run.ms === null) failures++;
    else ours.push(run.ms);
    if (run.stragglers) stragglers.push(run.stragglers);
    if (run.neverJoined !== undefined) neverJoined.push(run.neverJoined);
    if (run.startMedianMs !== null) starts.push(run.startMedianMs);
    if (run.hostLagP99Ms) lags.push(run.hostLagP99Ms);
    if (ctx.serf) {
      const s = await convergeSerf(ctx, n, 30_000);
      ctx.log('convergence-serf', { n, rep: r, ms: s });
      if (s !== null) serf.push(s);
    }
    // A pool that missed 30 s once will miss it again: keep the 10-minute budget for the rest.
    if (run.ms === null) break;
  }
  const mine = summarize(ours);
  const theirs = ctx.serf ? summarize(serf) : null;
  return {
    scenario: 'join-convergence',
    parameters: { n, reps, perHost: ctx.perHost, probeIntervalMs: 1000, mode: 'in-process' },
    ...mine,
    unit: 'ms',
    target: n === 100 ? '<= Serf in the same run at N=100' : '<= Serf at N=100 (this N: informative)',
    machine: machine(),
    serf: theirs,
    ratio: ratio(mine.median, theirs?.median ?? null),
    detail: { failures, stragglers, neverJoined, agentStartMedianMs: summarize(starts).median, hostLagP99Ms: lags },
  };
}
