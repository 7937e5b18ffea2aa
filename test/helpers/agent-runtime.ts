import { join } from 'node:path';
import type { AgentRuntime } from '../../shared/config/resolve.ts';

/** What the local launcher decides for its first instance, with the pool's state in `stateDir`. */
export function localRuntime(stateDir: string): AgentRuntime {
  return {
    instanceId: 'local-1',
    dataDir: join(stateDir, 'local', 'local-1', 'data'),
    poolKeyFile: join(stateDir, 'pool.key'),
    listen: ['/ip4/127.0.0.2/tcp/8643'],
    bootstrap: [],
    monitor: { host: '127.0.0.2', port: 8642, url: 'http://127.0.0.2:8642' },
    stateDir,
  };
}
