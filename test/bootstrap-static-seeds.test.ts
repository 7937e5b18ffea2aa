import { describe, expect, it } from 'vitest';
import { parsePool } from '../shared/config/load.ts';
import { resolveAgentConfig } from '../shared/config/resolve.ts';
import { STATIC_SEEDS_PER_CLOUD, withStaticSeeds } from '../shared/config/static-seeds.ts';

/** The ssh hosts every agent is seeded with (shared/config/static-seeds.ts), from the definition alone. */
describe('static seeds of a pool', () => {
  const hosts = ['10.0.0.1', 'db.example', 'fd00::7', '10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.0.7'];
  const pool = parsePool(
    {
      name: 'p',
      clouds: {
        loc: { instances: { min: 1, max: 1 }, using: { provider: 'local' } },
        web: {
          instances: { min: 1, max: 7 },
          using: { provider: 'ssh', hosts, user: 'root', keyFile: '/k', p2pPort: 9000 },
        },
      },
    },
    'p.json',
  );
  const runtime = {
    instanceId: 'local-1',
    dataDir: '/d',
    poolKeyFile: '/k',
    listen: ['/ip4/127.0.0.2/tcp/8643'],
    monitor: { host: '127.0.0.2', port: 8642, url: 'http://127.0.0.2:8642' },
    stateDir: '/s',
  };

  it("gives another cloud's agents the first hosts of each ssh cloud, by address kind, after the launcher's own", () => {
    const config = resolveAgentConfig(pool, 'loc', { ...runtime, bootstrap: ['/ip4/127.0.0.3/tcp/8643/p2p/12D3x'] });
    expect(config.bootstrap).toEqual([
      '/ip4/127.0.0.3/tcp/8643/p2p/12D3x',
      '/ip4/10.0.0.1/tcp/9000',
      '/dns4/db.example/tcp/9000',
      '/ip6/fd00::7/tcp/9000',
      '/ip4/10.0.0.4/tcp/9000',
      '/ip4/10.0.0.5/tcp/9000',
    ]);
    expect(config.bootstrap).toHaveLength(1 + STATIC_SEEDS_PER_CLOUD);
  });

  it("leaves an ssh cloud's own agents to their launcher, and never repeats an address", () => {
    expect(withStaticSeeds(pool, 'web', ['/ip4/10.0.0.4/tcp/9000/p2p/12D3y'])).toEqual([
      '/ip4/10.0.0.4/tcp/9000/p2p/12D3y',
    ]);
    expect(withStaticSeeds(pool, 'loc', ['/ip4/10.0.0.1/tcp/9000/p2p/12D3z'])).not.toContain('/ip4/10.0.0.1/tcp/9000');
  });
});
