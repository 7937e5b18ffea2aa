import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindingSources } from '../agent/membership/binding-sources.ts';
import { parsePool } from '../shared/config/load.ts';
import type { BoundPool } from '../shared/config/pool-binding.ts';
import { resolveAgentConfig } from '../shared/config/resolve.ts';
import type { PoolDefinition } from '../shared/config/schema.ts';
import { withLauncherBinding } from '../shared/remoter/pool-binding.ts';
import { ensureLauncherKey, type LauncherKey, mintCertificate } from '../shared/remoter/ssh-certificate.ts';
import { type AgentConfig, agentConfigSchema } from '../shared/wire/agent-config.ts';

/**
 * The pool's binding table (shared/wire/cloud-binding.ts): the launcher stamps it on the
 * definition, every agent's config carries it whatever its provider, a leader passes the same
 * table on, and each agent checks a claim by the claimed cloud's provider — an ssh agent reads
 * the local launcher's record, a local agent checks ssh certificates.
 */

let dir: string;
let stateDir: string;
let key: LauncherKey;
let pool: BoundPool;
const runtime = (instanceId: string, stateOf: string) => ({
  instanceId,
  dataDir: '/d',
  poolKeyFile: '/k',
  listen: ['/ip4/127.0.0.2/tcp/8643'],
  bootstrap: [],
  monitor: { host: '127.0.0.2', port: 8642, url: 'http://127.0.0.2:8642' },
  stateDir: stateOf,
});
const definition = (): PoolDefinition =>
  parsePool(
    {
      name: 'mix',
      clouds: {
        loc: { instances: { min: 1, max: 2 }, using: { provider: 'local' } },
        web: { instances: { min: 1, max: 1 }, using: { provider: 'ssh', hosts: ['127.0.0.5'] } },
        api: {
          instances: { min: 1, max: 1 },
          using: { provider: 'ec2', region: 'eu-west-1', imageId: 'ami-12345678', instanceType: 't3.micro' },
        },
      },
    },
    'mix.json',
  );
const certificate = (signer: LauncherKey, peerId: string, instanceId: string) =>
  mintCertificate(signer, {
    pool: 'mix',
    cloud: 'web',
    instanceId,
    peerId,
    issuedAt: Date.now() - 60_000,
    expiresAt: Date.now() + 3_600_000,
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-mixtable-'));
  stateDir = join(dir, 'state');
  pool = (await withLauncherBinding({ pool: definition(), stateDir })).pool;
  key = await ensureLauncherKey(stateDir);
  await mkdir(join(stateDir, 'local'), { recursive: true });
  await writeFile(
    join(stateDir, 'local', 'instances.json'),
    JSON.stringify({
      instances: [
        { id: 'local-1', state: 'running', peerId: 'L1', cloud: 'loc' },
        { id: 'local-2', state: 'running', peerId: 'L2', cloud: 'loc' },
      ],
    }),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the binding table travels to every agent', () => {
  it('is stamped with the local record and the launcher public key, and kept when already stamped', async () => {
    expect(pool.binding).toEqual({
      loc: { provider: 'local', records: join(stateDir, 'local', 'instances.json') },
      web: { provider: 'ssh', publicKey: key.publicKeyPem },
      api: { provider: 'ec2', region: 'eu-west-1' },
    });
    expect((await withLauncherBinding({ pool, stateDir: join(dir, 'elsewhere') })).pool.binding).toEqual(pool.binding);
    const localOnly = parsePool(
      { name: 'l', clouds: { a: { instances: { min: 1, max: 1 }, using: { provider: 'local' } } } },
      'l.json',
    );
    const stamped = (await withLauncherBinding({ pool: localOnly, stateDir: join(dir, 'l') })).pool;
    expect(stamped.binding).toEqual({ a: { provider: 'local', records: join(dir, 'l', 'local', 'instances.json') } });
  });

  it('every cloud’s agents carry the same table, and a leader launching from its carried definition passes it on', () => {
    const loc = agentConfigSchema.parse(resolveAgentConfig(pool, 'loc', runtime('local-1', stateDir)));
    const web = agentConfigSchema.parse(resolveAgentConfig(pool, 'web', runtime('127.0.0.5', '/var/lib/poolparty')));
    expect(web.scaling).toBeUndefined();
    expect(web.binding).toEqual(pool.binding);
    expect(loc.binding).toEqual(pool.binding);
    const carried = loc.scaling?.definition as PoolDefinition;
    const relaunched = resolveAgentConfig(carried, 'api', runtime('i-1', '/node/state'));
    expect(relaunched.binding).toEqual(pool.binding);
    expect(JSON.stringify(relaunched)).not.toContain('PRIVATE');
  });

  it('refuses a table whose local record path is relative, or whose key is not PEM', () => {
    const loc = resolveAgentConfig(pool, 'loc', runtime('local-1', stateDir));
    expect(() =>
      agentConfigSchema.parse({ ...loc, binding: { loc: { provider: 'local', records: 'x.json' } } }),
    ).toThrow(/absolute path/);
    expect(() => agentConfigSchema.parse({ ...loc, binding: { web: { provider: 'ssh', publicKey: 'k' } } })).toThrow(
      /PEM/,
    );
  });
});

describe('each claim is checked by the claimed cloud’s provider', () => {
  const warnings = (c: AgentConfig, peerId: string) => {
    const warned: Record<string, unknown>[] = [];
    const sources = bindingSources(c, { peerId }, (msg, fields) => warned.push({ msg, ...fields }));
    return { sources, warned };
  };

  it('an ssh agent binds local members by the local launcher’s record on its host', () => {
    const web = resolveAgentConfig(pool, 'web', runtime('127.0.0.5', '/var/lib/poolparty'));
    const { sources, warned } = warnings(web, 'S1');
    const loc = sources('loc');
    expect(loc?.check({ peerId: 'L1', instanceId: 'local-1', cloud: 'loc' })).toMatchObject({ kind: 'bound' });
    expect(loc?.check({ peerId: 'X', instanceId: 'local-99', cloud: 'loc' })).toMatchObject({
      kind: 'unbound',
      reason: 'no-instance',
    });
    expect(loc?.check({ peerId: 'X', instanceId: 'local-2', cloud: 'loc' })).toMatchObject({ reason: 'other-peer' });
    expect(warned.map((w) => w.msg)).toEqual(['binding-unchecked']); // the EC2 cloud names no certificate
  });

  it('a local agent binds ssh members by the launcher certificate, and refuses a forged one', async () => {
    const loc = resolveAgentConfig(pool, 'loc', runtime('local-1', stateDir));
    const { sources } = warnings(loc, 'L1');
    const web = sources('web');
    expect(web?.name).toBe('launcher-certificate');
    const good = certificate(key, 'S1', '127.0.0.5');
    expect(web?.check({ peerId: 'S1', instanceId: '127.0.0.5', cloud: 'web', identity: good })).toMatchObject({
      kind: 'bound',
    });
    const other = await ensureLauncherKey(join(dir, 'forger'));
    const forged = certificate(other, 'S2', '127.0.0.6');
    expect(web?.check({ peerId: 'S2', instanceId: '127.0.0.6', cloud: 'web', identity: forged })).toMatchObject({
      kind: 'unbound',
      reason: 'bad-evidence',
    });
  });

  it('an agent on another machine than the local launcher leaves local members unchecked, and says so', () => {
    const remote = {
      ...pool,
      binding: { ...pool.binding, loc: { provider: 'local' as const, records: '/nowhere/x.json' } },
    };
    const api = resolveAgentConfig(remote, 'api', runtime('i-1', join(dir, 'node')));
    const { sources, warned } = warnings(api, 'E1');
    expect(sources('loc')?.check({ peerId: 'X', instanceId: 'local-99', cloud: 'loc' })).toEqual({ kind: 'unchecked' });
    expect(warned).toContainEqual(
      expect.objectContaining({ msg: 'binding-unchecked-for-now', file: '/nowhere/x.json' }),
    );
  });
});
