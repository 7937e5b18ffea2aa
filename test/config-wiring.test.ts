import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { nginx } from '../examples/plugins/nginx/index.ts';
import { configureSchema, HOOK_TIMEOUT, VERIFIER_DEFAULTS } from '../shared/config/configure-schema.ts';
import { loadPool, parsePool } from '../shared/config/load.ts';
import * as api from '../shared/index.ts';
import { bootstrapPeers, createRemoter } from '../shared/remoter/index.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import { poolError } from './fixtures/pool-error.ts';

/** The ec2 provider and the configure fields, wired into the cloud definition and the public API. */

const ec2Cloud = (using: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name: 'p',
  clouds: {
    web: {
      instances: { min: 1, max: 3 },
      using: { provider: 'ec2', imageId: 'ami-0123456789abcdef0', instanceType: 't3.small', ...using },
      ...extra,
    },
  },
});

describe('ec2 clouds', () => {
  it('loads examples/ec2/clouds.ts with ec2 options normalised and no local defaults', async () => {
    const pool = await loadPool('examples/ec2/clouds.ts');
    const web = pool.clouds.web!;
    expect(web.instances).toEqual({ min: 2, max: 10 });
    expect(web.using).toEqual({
      provider: 'ec2',
      region: 'eu-west-1',
      imageId: 'ami-0a1b2c3d4e5f67890',
      instanceType: 't3.small',
      keyName: 'ops',
      subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
      securityGroupIds: ['sg-0123456789abcdef0'],
      iamInstanceProfile: { name: 'poolparty-search-node' },
      tags: { team: 'search', env: 'staging' },
      blockDevices: [
        { deviceName: '/dev/xvda', sizeGiB: 20, volumeType: 'gp3', encrypted: true, deleteOnTermination: true },
      ],
      p2pPort: 8643,
    });
    expect(web.scaling.expandWhen).toBe('load > 0.8 for 30s');
    expect(web.configure.resources).toEqual([]);
  });

  it('reports bad ec2 options in one line naming the field', () => {
    expect(poolError(ec2Cloud({ instanceType: 'huge' }))).toBe(
      `x.json: clouds.web.using.instanceType: expected an instance type like 't3.small', got "huge"`,
    );
    expect(poolError(ec2Cloud({ subnets: ['subnet-0123456789abcdef0'] }))).toBe(
      `x.json: clouds.web.using: unknown key 'subnets'`,
    );
    expect(poolError(ec2Cloud({ userData: 'export AWS_SECRET_ACCESS_KEY=abc' }))).toMatch(
      /^x\.json: clouds\.web\.using\.userData: must not contain AWS credentials/,
    );
  });

  it('rejects an ec2 p2pPort equal to the monitor port', () => {
    expect(poolError(ec2Cloud({ p2pPort: 9000 }, { monitor: { port: 9000 } }))).toBe(
      'x.json: clouds.web.using: p2pPort and monitorPort are both 9000',
    );
  });

  it('createRemoter builds the ec2 remoter base for an ec2 cloud', () => {
    const pool = parsePool(ec2Cloud({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' }), 'x.json');
    const remoter = createRemoter({ pool, cloud: 'web', stateDir: '/nonexistent/poolparty-test' });
    expect(remoter.provider).toBe('ec2');
    (remoter as { client?: { destroy(): void } }).client?.destroy();
  });

  it('bootstrap peers: the oldest live instances with an address, on their cloud p2p port, at most five', () => {
    const pool = parsePool(
      {
        name: 'p',
        clouds: {
          a: { instances: { min: 1, max: 9 }, using: ec2Cloud({}).clouds.web.using },
          b: { instances: { min: 1, max: 9 }, using: { ...ec2Cloud({}).clouds.web.using, p2pPort: 9100 } },
        },
      },
      'x.json',
    );
    const rec = (id: string, cloud: string, at: number, more: Partial<InstanceRecord> = {}): InstanceRecord => ({
      id,
      state: 'running',
      privateIp: `10.0.0.${at}`,
      launchedAt: at,
      tags: { 'poolparty:pool': 'p', 'poolparty:cloud': cloud },
      ...more,
    });
    const peers = bootstrapPeers(pool, [
      rec('i-7', 'a', 7),
      rec('i-2', 'b', 2),
      rec('i-1', 'a', 1, { state: 'stopping' }),
      rec('i-3', 'a', 3, { privateIp: undefined }),
      rec('i-4', 'a', 4, { state: 'pending' }),
      rec('i-5', 'gone', 5),
      rec('i-6', 'a', 6),
      rec('i-8', 'a', 8),
      rec('i-9', 'a', 9),
    ]);
    expect(peers).toEqual([
      '/ip4/10.0.0.2/tcp/9100',
      '/ip4/10.0.0.4/tcp/8643',
      '/ip4/10.0.0.6/tcp/8643',
      '/ip4/10.0.0.7/tcp/8643',
      '/ip4/10.0.0.8/tcp/8643',
    ]);
    expect(bootstrapPeers(pool, [])).toEqual([]);
  });
});

describe('configure fields', () => {
  it('a cloud without them gets the defaults', () => {
    const pool = parsePool(
      { name: 'p', clouds: { a: { instances: { min: 1, max: 1 }, using: { provider: 'local' } } } },
      'x.json',
    );
    // The same as the configure block parsed on its own from nothing (resources.test.ts spells it out).
    expect(pool.clouds.a!.configure).toEqual(configureSchema.parse({}));
  });

  it('loads examples/configure/clouds.ts: resources, resolver order, verifiers, hooks, the nginx plugin', async () => {
    const pool = await loadPool('examples/configure/clouds.ts');
    const files = pool.clouds.files!.configure;
    expect(files.resources.map((r) => r.type)).toEqual(['directory', 'directory', 'file', 'exec', 'template']);
    expect(files.resources[3]).toMatchObject({
      type: 'exec',
      name: 'initialise',
      creates: '/tmp/poolparty-example/initialised',
      requires: ['file[/tmp/poolparty-example/conf/settings.ini]'],
    });
    expect(files.resolver).toEqual(['itamae', 'puppet']);
    expect(files.verifiers).toEqual([
      {
        name: 'banner rendered',
        kind: 'command',
        command: "grep -q 'Hello from pool configured' /tmp/poolparty-example/banner.txt",
        retries: 2,
        delay: VERIFIER_DEFAULTS.delay,
        timeout: VERIFIER_DEFAULTS.timeout,
      },
    ]);
    expect(files.hooks.afterConfigure).toEqual([
      { command: 'echo "applied $(date -u +%FT%TZ)" >> /tmp/poolparty-example/applied.log', timeout: HOOK_TIMEOUT },
    ]);
    const web = pool.clouds.web!.configure;
    expect(web.plugins).toEqual(['nginx']);
    // The plugin's resources, expanded in place (resources.test.ts spells out what they are).
    const plugin = nginx({ port: 8080, message: 'Hello from a PoolParty node' });
    expect(web.resources).toEqual(configureSchema.parse({ resources: [plugin] }).resources);
    expect(web.resources.length).toBeGreaterThan(0);
    expect(web.verifiers.map((v) => v.name)).toEqual(['nginx serves the page']);
  });

  it('keeps the local example unchanged: no resources, chef-solo by default', async () => {
    const pool = await loadPool('examples/local/clouds.ts');
    expect(pool.clouds.local!.configure.resources).toEqual([]);
    expect(pool.clouds.local!.configure.resolver).toEqual(['chef-solo']);
  });

  it('reports a bad resource in one line naming it', () => {
    const raw = {
      name: 'p',
      clouds: {
        a: {
          instances: { min: 1, max: 1 },
          using: { provider: 'local' },
          resources: [{ type: 'file', path: 'relative/path', content: 'x' }],
        },
      },
    };
    expect(poolError(raw)).toMatch(/^x\.json: clouds\.a\.resources\.0(\.path)?: file\[relative\/path\]: /);
  });

  it('keeps scaling.beforeTerminate and hooks.beforeTerminate side by side', () => {
    const pool = parsePool(
      {
        name: 'p',
        clouds: {
          a: {
            instances: { min: 1, max: 1 },
            using: { provider: 'local' },
            scaling: { beforeTerminate: { command: 'drain', timeout: '5s' } },
            hooks: { beforeTerminate: ['flush', { command: 'notify', timeout: '1s' }] },
          },
        },
      },
      'x.json',
    );
    expect(pool.clouds.a!.scaling.beforeTerminate).toEqual({ command: 'drain', timeout: 5000 });
    expect(pool.clouds.a!.configure.hooks.beforeTerminate).toEqual([
      { command: 'flush', timeout: HOOK_TIMEOUT },
      { command: 'notify', timeout: 1000 },
    ]);
  });
});

describe('the public API (import from "poolparty")', () => {
  it('exports the providers, the resource constructors and definePlugin', () => {
    for (const name of ['definePool', 'local', 'ec2', 'file', 'directory', 'template', 'link', 'pkg', 'service']) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
    for (const name of ['exec', 'cron', 'user', 'group', 'definePlugin', 'refOf']) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(api.ec2({ imageId: 'ami-0123456789abcdef0', instanceType: 't3.small' })).toEqual({
      provider: 'ec2',
      imageId: 'ami-0123456789abcdef0',
      instanceType: 't3.small',
    });
  });

  it('stays light: the built entry imports neither zod nor the AWS SDK', async () => {
    // test/global-setup.ts built dist/ before any test file ran.
    const built = await readFile('dist/index.mjs', 'utf8');
    const imports = [...built.matchAll(/^import\s[^;]*?from\s*["']([^"']+)["']/gm)].map((m) => m[1]);
    expect(imports.filter((m) => /zod|aws-sdk|libp2p/.test(m ?? ''))).toEqual([]);
    expect(built).toContain('function file(');
    expect(built).toContain('function ec2(');
  });
});
