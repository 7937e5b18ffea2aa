/**
 * clouds.ts with target tracking instead of threshold rules, to compare on a trace: `poolparty
 * simulate -c examples/traces/clouds.ts --against examples/traces/clouds-target.ts --trace
 * examples/traces/daily-cycle.csv --load spread`. Holds avg(load) near 0.6, sizing each step from
 * the ratio; scale-in waits for the highest recommendation of the last 5 minutes.
 */
import { tracesPool } from './clouds.ts';

export default tracesPool({
  expandWhen: null,
  contractWhen: null,
  target: { metric: 'load', value: 0.6 },
});
