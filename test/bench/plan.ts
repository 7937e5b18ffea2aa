import type { BenchContext, ScenarioResult } from './lib/context.ts';
import { convergence } from './scenarios/convergence.ts';
import { failoverScenario } from './scenarios/failover.ts';
import { failureDetection } from './scenarios/failure.ts';
import { largestPool } from './scenarios/largest.ts';
import { processScenarios } from './scenarios/process.ts';
import { scaleReaction } from './scenarios/scale.ts';

export interface Step {
  scenario: string;
  parameters: Record<string, unknown>;
  run: (ctx: BenchContext) => Promise<ScenarioResult | ScenarioResult[]>;
}

/**
 * The scenarios in run order, full or quick. Quick: every scenario once at small N (CI).
 * Full: 3 repetitions, the N — sized to finish in under 10 minutes on 2 cores.
 */
export function PLAN(quick: boolean): Step[] {
  const reps = quick ? 1 : 3;
  const steps: Step[] = [];
  for (const n of quick ? [5] : [10, 50, 100]) {
    steps.push({ scenario: 'join-convergence', parameters: { n }, run: (ctx) => convergence(ctx, n, reps) });
  }
  for (const n of quick ? [5] : [10, 50]) {
    steps.push({ scenario: 'failure-detection', parameters: { n }, run: (ctx) => failureDetection(ctx, n, reps) });
  }
  for (const n of quick ? [5] : [10, 50]) {
    steps.push({ scenario: 'leader-failover', parameters: { n }, run: (ctx) => failoverScenario(ctx, n, reps) });
  }
  const scaleN = quick ? 3 : 5;
  steps.push({ scenario: 'scale-reaction', parameters: { n: scaleN }, run: (ctx) => scaleReaction(ctx, scaleN, reps) });
  const procN = quick ? 5 : 10;
  steps.push({
    scenario: 'process-mode',
    parameters: { n: procN, covers: ['idle-rss', 'idle-cpu', 'idle-gossip-bytes', 'false-deaths-under-stall'] },
    run: (ctx) => processScenarios(ctx, procN, reps),
  });
  const largest = { sizes: quick ? [5, 10] : [10, 25, 50, 100, 150, 200, 250, 300] };
  steps.push({ scenario: 'largest-pool', parameters: largest, run: (ctx) => largestPool(ctx, largest) });
  return steps;
}
