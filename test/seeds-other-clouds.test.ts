import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openPool, type PoolContext } from '../cli/context.ts';
import { parsePool } from '../shared/config/load.ts';
import type { PoolDefinition } from '../shared/config/schema.ts';
import type { InstanceRecord, LocalInstanceRecord } from '../shared/remoter/index.ts';
import { appendSeeds, otherCloudSeeds, otherSeedClouds } from '../shared/remoter/pool-seeds.ts';
import { stubAwsEnv } from './ec2-fixtures.ts';
import { type FakeEc2Server, startEc2Server } from './ec2-server/server.ts';
import { killMatching, randomLoopbackBase } from './fixtures/procs.ts';
import { userDataConfig } from './seeds-fixtures.ts';

/**
 * Every launch seeds its agents with the pool's other clouds too (shared/remoter/pool-seeds.ts,
 * issue 15). The CLI's wiring for real (cli/context.ts → load.ts → local-start.ts / ec2 user
 * data): a local launch's agent config names the ec2 cloud's instance, and the user data of an ec2
 * launch names the local agent. Agents are the stand-in (test/fixtures/fake-poolparty-agent.mjs);
 * the meeting of real agents is test/bootstrap-mixed-providers.test.ts.
 */

const EC2_P2P = 9100;

const EC2_IMAGE = { provider: 'ec2', region: 'us-east-1', imageId: 'ami-0123456789abcdef0', instanceType: 't3.small' };
const EC2_NET = { subnetIds: ['subnet-0aaaaaaaaaaaaaaaa'], securityGroupIds: ['sg-0aaaaaaaaaaaaaaaa'] };

/** An ec2 cloud's `using` on `endpoint`, with other fields (region, p2p port) as given. */
function ec2Using(endpoint: string, more: Record<string, unknown> = {}) {
  return { ...EC2_IMAGE, ...EC2_NET, endpoint, iamInstanceProfile: 'poolparty-node', p2pPort: EC2_P2P, ...more };
}

const rec = (id: string, cloud: string, ip: string, at: number): InstanceRecord => ({
  id,
  state: 'running',
  privateIp: ip,
  launchedAt: at,
  tags: { 'poolparty:pool': 'p', 'poolparty:cloud': cloud },
});

describe('which clouds a launch lists for seeds (pure)', () => {
  const pool = parsePool(
    {
      name: 'p',
      clouds: {
        a: { instances: { min: 1, max: 3 }, using: ec2Using('http://127.0.0.1:9') },
        b: { instances: { min: 1, max: 3 }, using: ec2Using('http://127.0.0.1:9', { p2pPort: 9200 }) },
        c: { instances: { min: 1, max: 3 }, using: ec2Using('http://127.0.0.1:9', { region: 'eu-west-1' }) },
        l1: { instances: { min: 1, max: 3 }, using: { provider: 'local' } },
        l2: { instances: { min: 1, max: 3 }, using: { provider: 'local', firstAddress: '127.0.0.9' } },
        s: { instances: { min: 1, max: 1 }, using: { provider: 'ssh', user: 'ops', hosts: [{ host: '10.9.0.1' }] } },
      },
    },
    'x.json',
  );

  it('skips itself, ssh clouds and clouds its own remoter lists (same region and endpoint; every local)', () => {
    expect(otherSeedClouds(pool, 'a')).toEqual(['c', 'l1', 'l2']);
    expect(otherSeedClouds(pool, 'l1')).toEqual(['a', 'b', 'c']);
    expect(otherSeedClouds(pool, 's')).toEqual(['a', 'b', 'c', 'l1', 'l2']);
  });

  it('takes the oldest live few of each, on their own p2p port; a cloud that fails or hangs adds none', async () => {
    const warned: string[] = [];
    const seeds = otherCloudSeeds(
      pool,
      'a',
      async (cloud) => {
        if (cloud === 'c') return [rec('i-2', 'c', '10.0.0.2', 2), rec('i-1', 'c', '10.0.0.1', 1)];
        if (cloud === 'l1') throw new Error('no record');
        return new Promise<InstanceRecord[]>(() => undefined);
      },
      { timeoutMs: 50, warn: (_msg, f) => warned.push(String(f.cloud)) },
    );
    expect(await seeds?.()).toEqual([`/ip4/10.0.0.1/tcp/${EC2_P2P}`, `/ip4/10.0.0.2/tcp/${EC2_P2P}`]);
    expect(warned.sort()).toEqual(['l1', 'l2']);
  });

  it('lists nothing for a pool of one provider', () => {
    const one = parsePool(
      { name: 'q', clouds: { l: { instances: { min: 1, max: 2 }, using: { provider: 'local' } } } },
      'q.json',
    );
    expect(otherCloudSeeds(one, 'l', () => Promise.reject(new Error('never')))).toBeUndefined();
  });

  it('appends only addresses not there yet, a peer id suffix aside', () => {
    expect(
      appendSeeds(['/ip4/127.0.0.2/tcp/8643/p2p/12D3KooWA'], ['/ip4/127.0.0.2/tcp/8643', '/ip4/10.0.0.1/tcp/1']),
    ).toEqual(['/ip4/127.0.0.2/tcp/8643/p2p/12D3KooWA', '/ip4/10.0.0.1/tcp/1']);
  });
});

describe('the CLI seeds each cloud with the other provider’s instances (local and ec2)', () => {
  let dir: string;
  let server: FakeEc2Server;
  let ctx: PoolContext;
  let pool: PoolDefinition;
  const launchedLocal: string[] = [];

  beforeAll(async () => {
    stubAwsEnv({ POOLPARTY_AGENT_BIN: resolve('test/fixtures/fake-poolparty-agent.mjs') });
    dir = await mkdtemp(join(tmpdir(), 'poolparty-seeds-'));
    server = await startEc2Server();
    const config = join(dir, 'clouds.json');
    const definition = {
      name: `seeds${Math.random().toString(36).slice(2, 7)}`,
      clouds: {
        loc: { instances: { min: 1, max: 2 }, using: { provider: 'local', firstAddress: randomLoopbackBase() } },
        app: { instances: { min: 1, max: 2 }, using: ec2Using(server.endpoint), monitor: { port: 9101 } },
      },
    };
    await writeFile(config, JSON.stringify(definition));
    ctx = await openPool({ config, 'state-dir': join(dir, 'state') }, 'bootstrap');
    pool = ctx.pool;
  });

  afterAll(async () => {
    if (launchedLocal.length > 0) await ctx?.remoter('loc').terminate(launchedLocal);
    await server?.close();
    if (dir) {
      await killMatching(dir);
      await rm(dir, { recursive: true, force: true, maxRetries: 5 });
    }
    vi.unstubAllEnvs();
  });

  it('a local launch seeds its agent with the ec2 cloud’s running instance', async () => {
    const ec2 = server.addInstance({ 'poolparty:pool': pool.name, 'poolparty:cloud': 'app' });
    const [local] = (await ctx
      .remoter('loc')
      .launch({ cloud: 'loc', count: 1, clientToken: 'seeds-loc-1' })) as LocalInstanceRecord[];
    if (!local) throw new Error('nothing launched');
    launchedLocal.push(local.id);
    const config = JSON.parse(await readFile(join(dirname(local.logFile), 'agent.json'), 'utf8')) as {
      bootstrap: string[];
    };
    expect(config.bootstrap).toContain(`/ip4/${ec2.privateIp}/tcp/${EC2_P2P}`);
  });

  it('an ec2 launch puts the local agent among the seeds in its user data', async () => {
    const [local] = await ctx.remoter('loc').list({ pool: pool.name, cloud: 'loc' });
    if (!local?.privateIp) throw new Error('no local instance');
    await ctx.remoter('app').launch({ cloud: 'app', count: 1, clientToken: 'seeds-app-1' });
    const run = server.callsOf('RunInstances').find((c) => c.params.ClientToken === 'seeds-app-1');
    const config = userDataConfig(run?.params.UserData);
    const localP2p = pool.clouds.loc?.using.p2pPort;
    expect(config.bootstrap).toContain(`/ip4/${local.privateIp}/tcp/${localP2p}`);
  });
});
