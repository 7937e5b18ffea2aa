import type { BenchContext, ScenarioResult } from './lib/context.ts';
import { bootstrapScenario } from './scenarios/bootstrap.ts';
import { convergence } from './scenarios/convergence.ts';
import { inprocCost, processCost } from './scenarios/cost.ts';
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
 * The scenarios in run order, full or quick. Quick: every scenario once at small N (CI), no
 * bootstrap. Full: 3 repetitions, the N — about 15–20 minutes on 2 shared cores.
 */
export function PLAN(quick: boolean): Step[] {
  const reps = quick ? 1 : 3;
  const steps: Step[] = [];
  const cost = (n: number) => {
    const kills = quick ? 1 : n >= 50 ? 5 : 3;
    steps.push({
      scenario: 'idle-cost',
      parameters: { n, mode: 'process', kills },
      run: (ctx) => processCost(ctx, n, kills),
    });
  };
  // What users pay, from outside (kernel wire bytes, /proc CPU and RSS), beside Serf. The small
  // and in-process sizes first: N=50 one agent per process can take minutes just to start here.
  cost(quick ? 5 : 10);
  if (!quick) {
    steps.push({
      scenario: 'idle-cost',
      parameters: { n: 200, mode: 'in-process' },
      run: (ctx) => inprocCost(ctx, 200),
    });
  }
  for (const n of quick ? [5] : [10, 50, 100]) {
    steps.push({ scenario: 'failure-detection', parameters: { n }, run: (ctx) => failureDetection(ctx, n, reps) });
  }
  for (const n of quick ? [5] : [10, 50, 100]) {
    steps.push({ scenario: 'join-convergence', parameters: { n }, run: (ctx) => convergence(ctx, n, reps) });
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
  if (!quick) cost(50);
  const largest = { sizes: quick ? [5, 10] : [10, 25, 50, 100, 150, 200, 250, 300] };
  steps.push({ scenario: 'largest-pool', parameters: largest, run: (ctx) => largestPool(ctx, largest) });
  if (!quick) {
    steps.push({ scenario: 'bootstrap-50', parameters: { n: 50 }, run: (ctx) => bootstrapScenario(ctx, 50) });
  }
  return steps;
}
