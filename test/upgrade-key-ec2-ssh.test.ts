import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../agent/config.ts';
import { hostAgentConfig } from '../cli/ec2-provision.ts';
import { resolveAgentConfig } from '../shared/config/resolve.ts';
import type { PoolDefinition } from '../shared/config/schema.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import { readUpgradeKey, upgradeKeyFile } from '../shared/upgrade/key.ts';
import { ec2Pool } from './ec2-fixtures.ts';

/**
 * EC2 hosts the CLI provisions over SSH (`ec2({ ssh })`, cli/ec2-provision.ts) get the pool's
 * upgrade public key like every other agent: their config is resolved from the launch-stamped
 * definition, whose stamp is the one place the key is created (shared/remoter/pool-binding.ts).
 */
let dir: string;
let stateDir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pp-upgrade19-ec2ssh-'));
  stateDir = join(dir, 'state');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const rec = (id: string, privateIp: string): InstanceRecord => ({
  id,
  state: 'running',
  privateIp,
  launchedAt: 0,
  tags: { 'poolparty:pool': 'web', 'poolparty:cloud': 'app' },
});
const paths = {
  dataDir: '/srv/pp/var/lib/poolparty',
  poolKeyFile: '/srv/pp/etc/poolparty/pool.key',
  stateDir: '/srv/pp/s',
};

describe('EC2 hosts provisioned over SSH carry the upgrade key', () => {
  it("a host's config names the pool's upgrade public key, created once, 0600, on the laptop", async () => {
    // The CLI's pool context holds the definition as the file says it: unstamped.
    const pool = ec2Pool({ ssh: {} } as never);
    expect(
      resolveAgentConfig(pool, 'app', {
        ...paths,
        instanceId: 'x',
        listen: [],
        bootstrap: [],
        monitor: { host: '0.0.0.0', port: 8642, url: '' },
      }).upgrade,
    ).toBeUndefined();

    const configFor = await hostAgentConfig({ pool, stateDir }, 'app');
    const first = parseAgentConfig(configFor(rec('i-1', '10.0.0.5'), paths, []));
    const key = await readUpgradeKey(stateDir);
    expect(first.upgrade?.publicKey).toBe(key.publicKeyPem);
    expect((await stat(upgradeKeyFile(stateDir))).mode & 0o777).toBe(0o600);
    expect(JSON.stringify(first)).not.toContain('PRIVATE KEY');

    // A second provisioning run (another bootstrap) keeps the same key: one key per pool.
    const again = parseAgentConfig(
      (await hostAgentConfig({ pool, stateDir }, 'app'))(rec('i-2', '10.0.0.6'), paths, []),
    );
    expect(again.upgrade?.publicKey).toBe(key.publicKeyPem);
    // And the definition the host carries passes it to the agents its leader launches.
    const carried = first.scaling?.definition as PoolDefinition;
    expect(
      resolveAgentConfig(carried, 'app', {
        ...paths,
        instanceId: 'i-3',
        listen: [],
        bootstrap: [],
        monitor: { host: '0.0.0.0', port: 8642, url: '' },
      }).upgrade,
    ).toEqual({ publicKey: key.publicKeyPem });
  });
});
