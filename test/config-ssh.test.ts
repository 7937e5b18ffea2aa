import { describe, expect, it } from 'vitest';
import { loadPool, parsePool } from '../shared/config/load.ts';
import { resolveAgentConfig } from '../shared/config/resolve.ts';
import * as api from '../shared/index.ts';
import { createRemoter, SshRemoter } from '../shared/remoter/index.ts';
import { poolError } from './fixtures/pool-error.ts';

/** `using: ssh({...})` wired into the cloud definition, the agent config and createRemoter. */

const pool = (using: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name: 'p',
  clouds: {
    web: { instances: { min: 1, max: 2 }, using: { provider: 'ssh', ...using }, ...extra },
    lan: { instances: { min: 1, max: 2 }, using: { provider: 'local' } },
  },
});

const runtime = {
  instanceId: '10.0.0.1',
  dataDir: '/var/lib/poolparty',
  poolKeyFile: '/etc/poolparty/pool.key',
  listen: ['/ip4/10.0.0.1/tcp/8643'],
  bootstrap: [],
  monitor: { host: '10.0.0.1', port: 8642, url: 'http://10.0.0.1:8642' },
  stateDir: '/var/lib/poolparty',
};

describe('ssh clouds', () => {
  it('exports ssh() from the public entry, which stays a plain object builder', () => {
    expect(api.ssh({ hosts: ['10.0.0.1'] })).toEqual({ provider: 'ssh', hosts: ['10.0.0.1'] });
  });

  it('loads examples/ssh/clouds.ts with the ssh defaults applied', async () => {
    const def = await loadPool('examples/ssh/clouds.ts');
    const app = def.clouds.app;
    expect(app?.using).toEqual({
      provider: 'ssh',
      hosts: [
        { host: '10.0.1.11', port: 22, prefix: '', bind: '10.0.1.11' },
        { host: '10.0.1.12', port: 22, prefix: '', bind: '10.0.1.12' },
        { host: 'app-3.internal.example.com', port: 22, prefix: '', bind: '10.0.1.13' },
      ],
      user: 'deploy',
      keyFile: '~/.ssh/poolparty_ed25519',
      init: 'auto',
      p2pPort: 8643,
      monitorPort: 8642,
      waitTimeout: 120_000,
      // Launcher certificates are good for a year unless the cloud says otherwise.
      certificateValidity: 8_760 * 3_600_000,
    });
  });

  it("takes the cloud's monitor port unless the provider sets one", () => {
    const def = parsePool(pool({ hosts: ['10.0.0.1'] }, { monitor: { port: 9000 } }), 'x.json');
    expect(def.clouds.web?.using).toMatchObject({ monitorPort: 9000, p2pPort: 8643 });
  });

  it('reports bad ssh options as one line naming the field', () => {
    expect(poolError(pool({ hosts: [] }))).toBe('x.json: clouds.web.using.hosts: at least one host is required');
    expect(poolError(pool({ hosts: ['a', 'a'] }))).toBe('x.json: clouds.web.using.hosts: a:22 is listed twice');
    expect(poolError(pool({ hosts: ['a'], p2pPort: 8642 }))).toBe(
      'x.json: clouds.web.using: p2pPort and monitorPort are both 8642',
    );
    expect(poolError(pool({ hosts: ['a'], init: 'upstart' }))).toMatch(/^x\.json: clouds\.web\.using\.init: /);
    expect(poolError(pool({ hosts: ['a'], password: 'x' }))).toBe("x.json: clouds.web.using: unknown key 'password'");
  });

  it('gives ssh agents no scaling block (nodes hold no SSH key); other clouds keep theirs', () => {
    const def = parsePool(pool({ hosts: ['10.0.0.1'] }), 'x.json');
    const web = resolveAgentConfig(def, 'web', runtime);
    expect(web.scaling).toBeUndefined();
    expect(web).toMatchObject({ pool: 'p', cloud: 'web', instanceId: '10.0.0.1' });
    expect(resolveAgentConfig(def, 'lan', runtime).scaling?.min).toBe(1);
  });

  it('creates the ssh remoter base for an ssh cloud', () => {
    const def = parsePool(pool({ hosts: ['10.0.0.1'] }), 'x.json');
    const r = createRemoter({ pool: def, cloud: 'web', stateDir: '/tmp/none', ssh: { acceptNewHostKey: true } });
    expect(r).toBeInstanceOf(SshRemoter);
    expect(r.provider).toBe('ssh');
  });
});
