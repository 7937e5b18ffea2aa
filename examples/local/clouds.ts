/**
 * A self-scaling pool of agents on this machine. `npm run demo`
 * (`poolparty demo -c examples/local/clouds.ts --drive`) starts three agents, each on its own
 * loopback address with its own monitor on port 8642, then fakes load through the `queue` metric:
 * the elected leader grows the pool to 5 and, once the queue empties, shrinks it back to 3.
 * Without --drive, feed the metric yourself: `echo 50 > ~/.poolparty/demo/queue`.
 * Ctrl-C terminates the pool.
 */
import { definePool, local } from 'poolparty';

export default definePool({
  // Names the gossip topic and the state dir (~/.poolparty/demo: pool key, instance state, logs).
  name: 'demo',
  clouds: {
    local: {
      // Bootstrap starts `min`; the leader keeps the pool within min..max.
      instances: { min: 3, max: 5 },
      // Instances are processes here: 127.0.0.2, 127.0.0.3, … (addresses in use are skipped).
      using: local({ firstAddress: '127.0.0.2' }),
      metrics: {
        // A custom metric gossiped with load/cpu/mem: the number in a file. A relative path is
        // relative to the pool's state dir, so this is ~/.poolparty/demo/queue by default (or
        // under --state-dir). While the file is missing the metric is null (no rule fires).
        queue: { file: 'queue', every: '1s' },
      },
      scaling: {
        // Short windows so one grow-and-shrink cycle takes about a minute; real pools want
        // minutes here (and the defaults: cooldowns 1m/3m, minimumRuntime 10m).
        expandWhen: 'queue > 10 for 3s',
        contractWhen: 'queue < 1 for 3s',
        cooldown: { expand: '3s', contract: '3s' },
        minimumRuntime: '0s',
        // Retire the most recently launched agent first: the three bootstrapped ones stay.
        victim: 'newest',
        joinTimeout: '60s',
      },
      agent: {
        // Faster failure detection than the 1s default, for a lively demo: a killed agent is
        // suspect after 1.5s and dead after 2.5s (3× and 5× the interval).
        heartbeatInterval: '500ms',
      },
    },
  },
});
