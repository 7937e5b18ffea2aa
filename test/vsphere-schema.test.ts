import { describe, expect, it } from 'vitest';
import { credentialChecks, type Facts } from '../cli/validate-machine.ts';
import { loadPool, parsePool } from '../shared/config/load.ts';
import { resolveAgentConfig } from '../shared/config/resolve.ts';
import { vsphereUrlCredentials } from '../shared/config/vsphere-schema.ts';
import { poolError } from './fixtures/pool-error.ts';

/** The vsphere provider's options: the example, normalisation, one-line errors, and credentials that never travel. */

const pool = (using: Record<string, unknown>) => ({
  name: 'p',
  clouds: {
    web: {
      instances: { min: 1, max: 3 },
      using: { provider: 'vsphere', datacenter: 'DC0', folder: 'pp', template: 'tpl', cluster: 'C0', ...using },
    },
  },
});

const runtime = {
  instanceId: 'vm-1',
  dataDir: '/var/lib/poolparty',
  poolKeyFile: '/etc/poolparty/pool.key',
  listen: ['/ip4/10.0.0.5/tcp/8643'],
  bootstrap: [],
  monitor: { host: '0.0.0.0', port: 8642, url: 'http://10.0.0.5:8642' },
  stateDir: '/var/lib/poolparty',
};

describe('vsphere clouds', () => {
  it('loads examples/vsphere/clouds.ts with its options normalised', async () => {
    const p = await loadPool('examples/vsphere/clouds.ts');
    expect(p.clouds.farm?.using).toMatchObject({
      provider: 'vsphere',
      url: 'https://vcenter.example.com/sdk',
      datacenter: 'Datacenter',
      folder: 'poolparty/render',
      cluster: 'Cluster-A',
      network: 'pg-render',
      insecure: false,
      p2pPort: 8643,
    });
  });

  it('takes the URL user info out of the definition: the laptop keeps it, agent configs never carry it', () => {
    const p = parsePool(pool({ url: 'https://ops%40vsphere.local:s3cr%3At@vc.example.com' }), 'clouds.ts');
    const using = p.clouds.web?.using;
    if (using?.provider !== 'vsphere') throw new Error('not vsphere');
    expect(using.url).toBe('https://vc.example.com/sdk');
    expect(vsphereUrlCredentials(using)).toEqual({ user: 'ops@vsphere.local', password: 's3cr:t' });
    const carried = JSON.stringify(resolveAgentConfig(p, 'web', runtime));
    expect(carried).toContain('vc.example.com');
    expect(carried).not.toContain('s3cr');
    expect(carried).not.toContain('ops%40');
  });

  it.each([
    [{ url: 'http://vc.example.com/sdk' }, 'clouds.web.using.url'],
    [
      { url: 'https://vc.example.com/sdk', resourcePool: 'C0/Resources/x' },
      'give exactly one of cluster and resourcePool',
    ],
    [
      { url: 'https://vc.example.com/sdk', insecure: true, thumbprint: 'AB:'.repeat(19) + 'AB' },
      'insecure and thumbprint exclude each other',
    ],
    [{ url: 'https://vc.example.com/sdk', thumbprint: 'nope' }, 'expected a SHA-1 or SHA-256 fingerprint'],
    [{ url: 'https://vc.example.com/sdk', folder: '/abs' }, "no leading or trailing '/'"],
    [{ url: 'https://vc.example.com/sdk', network: 'VM Network/' }, 'clouds.web.using.network'],
    [{ url: 'https://vc.example.com/sdk', network: '' }, 'clouds.web.using.network'],
  ])('refuses %j with one line naming it', (using, expected) => {
    const err = poolError(pool(using));
    expect(err.split('\n').filter(Boolean).length).toBeLessThanOrEqual(2);
    expect(err).toContain(expected);
  });

  it('validate says where vCenter credentials would come from, by name only', () => {
    const facts = (env: Record<string, string>): Facts => ({
      env,
      readable: () => false,
      onPath: () => undefined,
      readText: () => undefined,
    });
    const plain = parsePool(pool({ url: 'https://vc.example.com/sdk' }), 'clouds.ts').clouds.web;
    const withInfo = parsePool(pool({ url: 'https://ops:pw@vc.example.com/sdk' }), 'clouds.ts').clouds.web;
    if (!plain || !withInfo) throw new Error('no cloud');
    const messages = (cloud: typeof plain, env: Record<string, string>) =>
      credentialChecks(cloud, facts(env)).map((c) => `${c.level} ${c.message}`);
    expect(messages(plain, { VSPHERE_USER: 'ops', VSPHERE_PASSWORD: 'pw' })).toEqual([
      'ok vCenter credentials from the environment (VSPHERE_USER)',
    ]);
    expect(messages(plain, { VSPHERE_USER: 'ops' })).toEqual(['error VSPHERE_PASSWORD is not set beside VSPHERE_USER']);
    expect(messages(withInfo, {})).toEqual(["ok vCenter credentials from using.url's user info"]);
    expect(messages(plain, {})).toEqual([
      'error no vCenter credentials: set VSPHERE_USER and VSPHERE_PASSWORD (or user info in using.url)',
    ]);
  });
});
