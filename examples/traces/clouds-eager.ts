/**
 * An eager variant of clouds.ts, to compare on a trace: `poolparty simulate -c
 * examples/traces/clouds.ts --against examples/traces/clouds-eager.ts --trace examples/traces/spike.csv`.
 * Two instances per step after one busy minute, shorter cooldowns: faster to follow a spike, and
 * more instance-hours for it.
 */
import { tracesPool } from './clouds.ts';

export default tracesPool({
  expandWhen: 'avg(load) > 0.7 for 1m',
  expandBy: 2,
  cooldown: { expand: '1m', contract: '2m' },
});
