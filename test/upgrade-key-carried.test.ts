import { mkdtemp, readFile as readFileAsync, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../agent/config.ts';
import { resolveAgentConfig } from '../shared/config/resolve.ts';
import type { PoolDefinition } from '../shared/config/schema.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { buildUserData } from '../shared/remoter/ec2-user-data.ts';
import { findPackageRoot } from '../shared/remoter/package-root.ts';
import { withLauncherBinding } from '../shared/remoter/pool-binding.ts';
import { readUpgradeKey, upgradeKeyFile } from '../shared/upgrade/key.ts';
import { ec2Pool } from './ec2-fixtures.ts';

/**
 * The pool's upgrade public key reaches agents of every provider (issue 19): the CLI's launch
 * stamp creates the key (0600, on the laptop) and puts its public half on the definition, so an
 * EC2 node's user data carries it, and a leader launching from its carried definition passes it
 * on. The private half never leaves the state dir.
 */
let dir: string;
let stateDir: string;
let pool: PoolDefinition;

const runtime = (instanceId: string) => ({
  instanceId,
  dataDir: '/var/lib/poolparty',
  poolKeyFile: '/etc/poolparty/pool.key',
  listen: ['/ip4/10.0.0.9/tcp/8643'],
  bootstrap: [],
  monitor: { host: '0.0.0.0', port: 8642, url: 'http://10.0.0.9:8642' },
  stateDir: '/var/lib/poolparty/state',
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-upgrade-carried-'));
  stateDir = join(dir, 'state');
  pool = (await withLauncherBinding({ pool: ec2Pool({}), stateDir })).pool;
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the upgrade public key travels to every agent', () => {
  it("is created by the launcher's stamp and carried by an EC2 node's user data", async () => {
    const key = await readUpgradeKey(stateDir);
    const unit = await readFileAsync(join(findPackageRoot(), 'systemd', 'poolparty-agent.service'), 'utf8');
    const script = buildUserData({
      pool,
      cloud: 'app',
      poolKey: new TextDecoder().decode(generatePoolKey()),
      bootstrap: [],
      unit,
    });
    const m = /<<'POOLPARTY_CONFIG_EOF'\n([\s\S]*?)\nPOOLPARTY_CONFIG_EOF/.exec(script);
    const config = JSON.parse(gunzipSync(Buffer.from((m?.[1] ?? '').replaceAll('\n', ''), 'base64')).toString('utf8'));
    expect(config.upgrade).toEqual({ publicKey: key.publicKeyPem });
    expect(script).not.toContain('PRIVATE KEY');
    // The private half stays on the laptop, readable by its owner only.
    expect((await stat(upgradeKeyFile(stateDir))).mode & 0o777).toBe(0o600);
  });

  it('a leader launching from its carried definition gives new agents the same key', async () => {
    const key = await readUpgradeKey(stateDir);
    const first = parseAgentConfig(resolveAgentConfig(pool, 'app', runtime('i-1')));
    expect(first.upgrade?.publicKey).toBe(key.publicKeyPem);
    const carried = first.scaling?.definition as PoolDefinition;
    const next = parseAgentConfig(resolveAgentConfig(carried, 'app', runtime('i-2')));
    expect(next.upgrade?.publicKey).toBe(key.publicKeyPem);
  });

  it('a definition never stamped gives agents no key (they refuse every upgrade)', () => {
    expect(resolveAgentConfig(ec2Pool({}), 'app', runtime('i-3')).upgrade).toBeUndefined();
  });
});
