import type { BenchContext, ScenarioResult } from '../lib/context.ts';
import { machine } from '../lib/context.ts';
import { convergeOurs } from './convergence.ts';

/**
 * The biggest pool that converges within 30 s on this machine: in-process hosts of `perHost`
 * agents, N raised through `sizes` until the first failure (the last size is the cap).
 */
export async function largestPool(ctx: BenchContext, opts: { sizes: number[] }): Promise<ScenarioResult> {
  const tried: Array<{ n: number; ms: number | null; startMedianMs: number | null; hostLagP99Ms?: number[] }> = [];
  let best = 0;
  for (const n of opts.sizes) {
    const run = await convergeOurs(ctx, n, 30_000);
    ctx.log('largest-pool', { n, ...run });
    tried.push({
      n,
      ms: run.ms,
      startMedianMs: run.startMedianMs,
      ...(run.hostLagP99Ms ? { hostLagP99Ms: run.hostLagP99Ms } : {}),
    });
    if (run.ms === null) break;
    best = n;
  }
  return {
    scenario: 'largest-pool',
    parameters: { ...opts, timeoutMs: 30_000, perHost: ctx.perHost, mode: 'in-process' },
    median: best,
    p90: best,
    max: best,
    samples: [best],
    unit: 'agents',
    target: '>= 250 agents (state the per-host count)',
    machine: machine(),
    serf: null,
    ratio: null,
    detail: { tried, capped: best === opts.sizes[opts.sizes.length - 1] },
  };
}
