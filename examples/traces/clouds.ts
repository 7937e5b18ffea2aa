/**
 * The pool the example traces are replayed against: `poolparty simulate -c
 * examples/traces/clouds.ts --trace examples/traces/spike.csv`. Nothing here is launched: simulate
 * only reads the cloud's bounds and scaling block. Traces come from scripts/make-traces.mjs.
 */
import { definePool, local, type ScalingInput } from 'poolparty';

/** The pool with these scaling settings changed (clouds-eager.ts is one such variant). */
export function tracesPool(scaling: ScalingInput = {}) {
  return definePool({
    name: 'traces',
    clouds: {
      web: {
        instances: { min: 2, max: 8 },
        using: local(),
        scaling: {
          // Grow after two busy minutes, shrink after five quiet ones: a load swinging faster
          // than that (flapping.jsonl) moves nothing.
          expandWhen: 'avg(load) > 0.7 for 2m',
          contractWhen: 'avg(load) < 0.3 for 5m',
          cooldown: { expand: '3m', contract: '5m' },
          minimumRuntime: '10m',
          interval: '5s',
          ...scaling,
        },
      },
    },
  });
}

export default tracesPool();
