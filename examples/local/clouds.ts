/**
 * A pool of agents on this machine: `npm run demo` (or `poolparty demo -c examples/local/clouds.ts`)
 * starts three agents, each on its own loopback address with its own monitor on port 8642,
 * prints the cluster and follows membership changes until Ctrl-C terminates the pool.
 */
import { definePool, local } from 'poolparty';

export default definePool({
  // Names the gossip topic and the state dir (~/.poolparty/demo: pool key, instance state, logs).
  name: 'demo',
  clouds: {
    local: {
      // Bootstrap starts `min`; the leader may scale up to `max`.
      instances: { min: 3, max: 5 },
      // Instances are processes here: 127.0.0.2, 127.0.0.3, … (addresses in use are skipped).
      using: local({ firstAddress: '127.0.0.2' }),
      metrics: {
        // A custom metric gossiped with load/cpu/mem. The file holds a number, e.g.
        //   echo 12 > /tmp/poolparty-demo-queue
        // While it is missing the metric is null and /stats shows the error — harmless.
        queue: { file: '/tmp/poolparty-demo-queue', every: '2s' },
      },
      agent: {
        // Faster failure detection than the 1s default, for a lively demo: a killed agent is
        // suspect after 1.5s and dead after 2.5s (3× and 5× the interval).
        heartbeatInterval: '500ms',
      },
    },
  },
});
