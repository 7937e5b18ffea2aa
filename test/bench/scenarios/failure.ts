import { join } from 'node:path';
import type { BenchContext, ScenarioResult } from '../lib/context.ts';
import { machine } from '../lib/context.ts';
import { untilHostsQuiet } from '../lib/host-lag.ts';
import { InprocPool } from '../lib/inproc.ts';
import { SerfPool } from '../lib/serf.ts';
import { ratio, summarize } from '../lib/stats.ts';
import { SETUP_CONVERGE_MS } from './failover.ts';

/**
 * Failure detection: in a converged pool, crash one agent as peers see a kill -9 (agent.crash():
 * its connections reset, its address refuses, nothing more is sent) and time until every other
 * agent marks it dead. The pool is reused across repetitions: each one crashes
 * a different non-seed agent, so repetition r runs with n - r agents.
 */
export async function failureDetection(ctx: BenchContext, n: number, reps: number): Promise<ScenarioResult> {
  const dead: number[] = [];
  const suspect: number[] = [];
  const serfFailed: number[] = [];
  const settled: Array<{ waitedMs: number; p99Ms: number[] }> = [];
  let error: string | undefined;
  let convergedMs: number | null = null;
  const pool = new InprocPool({
    n,
    perHost: ctx.perHost,
    hostScript: ctx.build.host,
    dir: join(ctx.dir, `fail-${n}`),
    loopback: ctx.loopback,
    nodeFlags: ctx.nodeFlags,
  });
  try {
    await pool.prepare();
    const t0 = await pool.startRest();
    // Detection is timed in a formed pool: how long forming took is join-convergence's figure.
    // With 30 s here, N=50 and 100 in-process had no detection figure at all (2026-12-06).
    const conv = await pool.until(() => pool.tracker.convergedAt(pool.peers), SETUP_CONVERGE_MS);
    convergedMs = conv === null ? null : conv - t0;
    ctx.log('failure-detection-converged', { n, ms: convergedMs });
    if (conv === null) throw new Error(`pool of ${n} did not converge within ${SETUP_CONVERGE_MS / 1000} s`);
    for (let r = 0; r < reps; r++) {
      const victim = pool.alivePeers[1 + Math.floor(Math.random() * (pool.alivePeers.length - 1))] as string;
      const quiet = await untilHostsQuiet(pool); // detection, not the hosts' backlog after forming (host-lag.ts)
      settled.push(quiet);
      const at = await pool.crash([victim]);
      const observers = pool.alivePeers;
      const all = (type: string) => {
        const times = pool.tracker.firstEvent(observers, type, victim, at);
        return times.every((x) => x !== null) ? Math.max(...(times as number[])) : null;
      };
      const deadAt = await pool.until(() => all('member-dead'), 30_000);
      const suspectAt = all('member-suspect');
      ctx.log('failure-detection', {
        n,
        rep: r,
        deadMs: deadAt && deadAt - at,
        suspectMs: suspectAt && suspectAt - at,
        settleMs: quiet.waitedMs,
        hostLagP99Ms: quiet.p99Ms,
      });
      if (deadAt !== null) dead.push(deadAt - at);
      if (suspectAt !== null) suspect.push(suspectAt - at);
    }
  } catch (err) {
    error = (err as Error).message;
  } finally {
    await pool.close();
  }
  if (ctx.serf) serfFailed.push(...(await serfFailure(ctx, n, reps)));
  const mine = summarize(dead);
  const theirs = ctx.serf ? summarize(serfFailed) : null;
  return {
    scenario: 'failure-detection',
    parameters: {
      n,
      reps,
      mode: 'in-process',
      perHost: ctx.perHost,
      crash: 'agent.crash()',
      // SWIM defaults (agent/membership/swim-config.ts from shared/config/tunables.ts).
      probeIntervalMs: 1000,
      refusedSuspicionMs: 500,
      suspicionMinMs: 3000,
    },
    ...mine,
    unit: 'ms',
    target: '<= 3000 ms median (N=50 and 100)',
    machine: machine(),
    serf: theirs,
    ratio: ratio(mine.median, theirs?.median ?? null),
    detail: {
      suspect: summarize(suspect),
      // Per crash: how long the hosts took to be quiet first, and their loop delay p99 then (host-lag.ts).
      settled,
      convergedMs,
      anchor: 'memberlist LAN default: >= 4 s at 10 nodes, 8-48 s at 100',
    },
    ...(error ? { error } : {}),
  };
}

/** The same with Serf: kill -9 one agent, time until every other reports it `failed`. */
async function serfFailure(ctx: BenchContext, n: number, reps: number): Promise<number[]> {
  const out: number[] = [];
  const serf = new SerfPool(ctx.loopback);
  try {
    await serf.prepare();
    serf.startRest(n);
    const conv = await serf.sampleUntil(serf.nodes, (m) => m.filter((x) => x.status === 'alive').length === n, 30_000);
    if (conv === null) throw new Error(`serf pool of ${n} did not converge`);
    await serf.timeKills(reps, (rep, ms) => {
      ctx.log('failure-detection-serf', { n, rep, ms });
      if (ms !== null) out.push(ms);
    });
  } catch (err) {
    ctx.log('serf-error', { scenario: 'failure-detection', error: (err as Error).message });
  } finally {
    await serf.close();
  }
  return out;
}
