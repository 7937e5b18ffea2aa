import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadPool, parsePool, resolveCloud } from '../shared/config/load.ts';
import { resolveAgentConfig, resolveStateDir } from '../shared/config/resolve.ts';
import { defaultTunables } from '../shared/config/tunables.ts';
import { SCALING_DEFAULTS } from '../shared/scaling/config.ts';

let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a file in the temp dir and returns its path. */
async function file(ext: string, text: string): Promise<string> {
  const path = join(dir, `pool-${++n}${ext}`);
  await writeFile(path, text);
  return path;
}

const tsPool = (cloud: string, extra = '') => `
import { definePool, local } from 'poolparty';
export default definePool({ name: 'demo', ${extra} clouds: { web: ${cloud} } });
`;

async function loadError(path: string): Promise<string> {
  const err = await loadPool(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  const message = (err as Error).message;
  expect(message).not.toContain('\n');
  return message;
}

describe('loadPool', () => {
  it('loads the local example with defaults applied', async () => {
    const pool = await loadPool('examples/local/clouds.ts');
    expect(pool.name).toBe('demo');
    const { name, cloud } = resolveCloud(pool);
    expect(name).toBe('local');
    expect(cloud.instances).toEqual({ min: 3, max: 5 });
    expect(cloud.using).toEqual({ provider: 'local', firstAddress: '127.0.0.2', p2pPort: 8643, monitorPort: 8642 });
    expect(cloud.agent).toEqual(defaultTunables(500));
    // Relative: under the pool's state dir, resolved per agent by resolveAgentConfig.
    expect(cloud.metrics.queue).toEqual({ kind: 'file', file: 'queue', every: 1000, timeout: 2000 });
    expect(cloud.monitor).toEqual({ host: '0.0.0.0', port: 8642 });
    expect(cloud.scaling).toEqual({
      ...SCALING_DEFAULTS,
      expandWhen: 'queue > 10 for 3s',
      contractWhen: 'queue < 1 for 3s',
      cooldown: { expand: 3000, contract: 3000 },
      minimumRuntime: 0,
      victim: 'newest',
      joinTimeout: 60_000,
    });
  });

  it('loads a .ts file outside the repo that imports poolparty', async () => {
    const path = await file(
      '.ts',
      tsPool(`{ instances: { min: 1, max: 2 }, using: local(), metrics: { q: { command: 'echo 1' } } }`),
    );
    const pool = await loadPool(path);
    const cloud = pool.clouds.web!;
    expect(cloud.using).toMatchObject({ provider: 'local', firstAddress: '127.0.0.2' });
    expect(cloud.metrics.q).toEqual({ kind: 'command', command: 'echo 1', every: 5000, timeout: 2000 });
    expect(cloud.agent).toEqual(defaultTunables());
  });

  it('loads .mjs and .json definitions', async () => {
    const mjs = await file(
      '.mjs',
      `import { local } from 'poolparty';\nexport default { name: 'm', clouds: { a: { instances: { min: 0, max: 1 }, using: local({ p2pPort: 9000 }) } } };\n`,
    );
    expect((await loadPool(mjs)).clouds.a!.using.p2pPort).toBe(9000);
    const json = await file(
      '.json',
      JSON.stringify({
        name: 'j',
        clouds: {
          a: {
            instances: { min: 1, max: 1 },
            using: { provider: 'local', firstAddress: '127.9.9.9' },
            metrics: { depth: { http: 'http://127.0.0.1:1/x', path: 'a.b', every: '1s', timeout: 500 } },
          },
        },
      }),
    );
    const pool = await loadPool(json);
    expect(pool.clouds.a!.using).toMatchObject({ firstAddress: '127.9.9.9' });
    expect(pool.clouds.a!.metrics.depth).toEqual({
      kind: 'http',
      http: 'http://127.0.0.1:1/x',
      path: 'a.b',
      every: 1000,
      timeout: 500,
    });
  });

  it('derives suspectAfter/deadAfter from heartbeatInterval and keeps explicit values', async () => {
    const derived = parsePool(
      {
        name: 'p',
        clouds: {
          a: { instances: { min: 1, max: 1 }, using: { provider: 'local' }, agent: { heartbeatInterval: '250ms' } },
        },
      },
      'x.json',
    );
    expect(derived.clouds.a!.agent).toMatchObject({ heartbeatInterval: 250, suspectAfter: 750, deadAfter: 1250 });
    const explicit = parsePool(
      {
        name: 'p',
        clouds: {
          a: {
            instances: { min: 1, max: 1 },
            using: { provider: 'local' },
            agent: { heartbeatInterval: 100, suspectAfter: '400ms', maxConnections: 12 },
          },
        },
      },
      'x.json',
    );
    expect(explicit.clouds.a!.agent).toMatchObject({
      heartbeatInterval: 100,
      suspectAfter: 400,
      deadAfter: 500,
      maxConnections: 12,
    });
  });

  it('uses the cloud monitor port for a local cloud without monitorPort', () => {
    const pool = parsePool(
      {
        name: 'p',
        clouds: { a: { instances: { min: 1, max: 1 }, using: { provider: 'local' }, monitor: { port: 9100 } } },
      },
      'x.json',
    );
    expect(pool.clouds.a!.using).toMatchObject({ provider: 'local', monitorPort: 9100 });
  });
});

describe('config errors are one line naming the file and the field', () => {
  const cases: [string, string, string][] = [
    [
      'wrong type',
      `{ instances: { min: 1, max: '3' }, using: local() }`,
      'clouds.web.instances.max: expected a number, got string',
    ],
    [
      'min > max',
      `{ instances: { min: 5, max: 3 }, using: local() }`,
      'clouds.web.instances: min (5) is greater than max (3)',
    ],
    [
      'not an integer',
      `{ instances: { min: 1.5, max: 3 }, using: local() }`,
      'clouds.web.instances.min: expected an integer, got 1.5',
    ],
    [
      'max 0',
      `{ instances: { min: 0, max: 0 }, using: local() }`,
      'clouds.web.instances.max: must be at least 1, got 0',
    ],
    ['missing field', `{ instances: { min: 1, max: 3 } }`, 'clouds.web.using: required'],
    [
      'unknown provider',
      `{ instances: { min: 1, max: 3 }, using: { provider: 'ec3' } }`,
      `clouds.web.using.provider: unknown provider "ec3" (expected 'local', 'ec2', 'ssh', 'vsphere')`,
    ],
    [
      'unknown tunable',
      `{ instances: { min: 1, max: 3 }, using: local(), agent: { heartbeat: 5 } }`,
      `clouds.web.agent: unknown key 'heartbeat'`,
    ],
    [
      'bad duration',
      `{ instances: { min: 1, max: 3 }, using: local(), agent: { heartbeatInterval: 'fast' } }`,
      `clouds.web.agent.heartbeatInterval: invalid duration 'fast'`,
    ],
    [
      'suspect not before dead',
      `{ instances: { min: 1, max: 3 }, using: local(), agent: { suspectAfter: '5s', deadAfter: '4s' } }`,
      'clouds.web.agent: suspectAfter (5000ms) must be less than deadAfter (4000ms)',
    ],
    [
      'built-in metric name',
      `{ instances: { min: 1, max: 3 }, using: local(), metrics: { cpu: { command: 'x' } } }`,
      `clouds.web.metrics.cpu: 'cpu' is a built-in metric`,
    ],
    [
      'metric name not an identifier',
      `{ instances: { min: 1, max: 3 }, using: local(), metrics: { 'my-q': { file: '/x' } } }`,
      'clouds.web.metrics.my-q: metric names must be identifiers',
    ],
    [
      'metric with two sources',
      `{ instances: { min: 1, max: 3 }, using: local(), metrics: { q: { file: '/x', command: 'y' } } }`,
      'clouds.web.metrics.q: expected exactly one of command, file, http (got command and file)',
    ],
    [
      'metric with an https-less URL',
      `{ instances: { min: 1, max: 3 }, using: local(), metrics: { q: { http: 'ftp://h/x' } } }`,
      'clouds.web.metrics.q.http: expected an http(s) URL',
    ],
    [
      'metric path without http',
      `{ instances: { min: 1, max: 3 }, using: local(), metrics: { q: { file: '/x', path: 'a' } } }`,
      'clouds.web.metrics.q.path: path is only valid with http',
    ],
    [
      'metric with a zero period',
      `{ instances: { min: 1, max: 3 }, using: local(), metrics: { q: { command: 'x', every: 0 } } }`,
      'clouds.web.metrics.q.every: must be at least 1ms',
    ],
    [
      'not a loopback address',
      `{ instances: { min: 1, max: 3 }, using: local({ firstAddress: '10.0.0.1' }) }`,
      'clouds.web.using.firstAddress: expected a loopback address',
    ],
  ];
  for (const [what, cloud, expected] of cases) {
    it(what, async () => {
      const path = await file('.ts', tsPool(cloud));
      expect(await loadError(path)).toContain(`${path}: ${expected}`);
    });
  }

  it('bad pool name', async () => {
    const path = await file(
      '.json',
      JSON.stringify({
        name: 'Demo_1',
        clouds: { web: { instances: { min: 1, max: 1 }, using: { provider: 'local' } } },
      }),
    );
    expect(await loadError(path)).toMatch(new RegExp(`^${path}: name: pool name may contain only lowercase`));
  });

  it('reports every problem at once, each with its path, and suggests the key a typo meant', async () => {
    const path = await file(
      '.ts',
      `import { definePool, local } from 'poolparty';
export default definePool({ name: 'demo', clouds: { app: { instancez: { min: 1, max: 2 }, using: local({ firstAdress: '127.0.0.2' }) } } } as never);
`,
    );
    const err = await loadPool(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message.split('\n')).toEqual([
      `${path}: 3 problems:`,
      "  clouds.app: unknown key 'instancez' (did you mean 'instances'?)",
      '  clouds.app.instances: required',
      "  clouds.app.using: unknown key 'firstAdress' (did you mean 'firstAddress'?)",
    ]);
  });

  it('file not found', async () => {
    expect(await loadError(join(dir, 'nope.ts'))).toBe(`${join(dir, 'nope.ts')}: file not found`);
  });

  it('syntax error', async () => {
    const path = await file('.ts', `export default definePool({ name: 'x', clouds: {\n`);
    expect(await loadError(path)).toMatch(new RegExp(`^${path}: syntax error: `));
  });

  it('invalid JSON', async () => {
    const path = await file('.json', '{ "name": ');
    expect(await loadError(path)).toMatch(new RegExp(`^${path}: invalid JSON: `));
  });

  it('no default export', async () => {
    const path = await file('.ts', `export const pool = 1;\n`);
    expect(await loadError(path)).toBe(`${path}: no default export (expected export default definePool({...}))`);
  });

  it('an exception thrown by the file', async () => {
    const path = await file('.ts', `throw new Error('boom\\nsecond line');\nexport default {};\n`);
    expect(await loadError(path)).toBe(`${path}: cannot load: boom second line`);
  });
});

describe('resolveCloud / resolveAgentConfig / resolveStateDir', () => {
  const two = parsePool(
    {
      name: 'p',
      clouds: {
        a: { instances: { min: 1, max: 1 }, using: { provider: 'local' }, metrics: { q: { file: '/q', every: '3s' } } },
        b: { instances: { min: 1, max: 1 }, using: { provider: 'local' } },
      },
    },
    'two.json',
  );

  it('picks a named cloud and explains ambiguity or unknown names', () => {
    expect(resolveCloud(two, 'b').name).toBe('b');
    expect(() => resolveCloud(two)).toThrow("pool 'p' has 2 clouds (a, b): choose one with --cloud");
    expect(() => resolveCloud(two, 'c')).toThrow("pool 'p' has no cloud 'c' (clouds: a, b)");
  });

  it('builds a complete AgentConfig in ms', () => {
    const node = {
      instanceId: 'local-1',
      dataDir: '/d',
      poolKeyFile: '/k',
      listen: ['/ip4/127.0.0.2/tcp/8643'],
      bootstrap: [],
      monitor: { host: '127.0.0.2', port: 8642, url: 'http://127.0.0.2:8642' },
    };
    const config = resolveAgentConfig(two, 'a', { ...node, stateDir: '/state' });
    expect(config).toEqual({
      pool: 'p',
      cloud: 'a',
      // The node's own fields are carried as given; the state dir goes into the scaling block.
      ...node,
      tunables: defaultTunables(),
      metrics: { q: { kind: 'file', file: '/q', every: 3000, timeout: 2000 } },
      // Without a scaling block the leader still keeps the cloud within min..max.
      scaling: { min: 1, max: 1, config: SCALING_DEFAULTS, definition: two, stateDir: '/state' },
      // How each cloud binds its members: the definition alone does not say where the launcher's record is.
      binding: { a: { provider: 'local' }, b: { provider: 'local' } },
    });
  });

  it('state dir: flag over env over definition over ~/.poolparty/<name>', () => {
    const pool = { name: 'p', stateDir: '/from/def' };
    expect(resolveStateDir(pool, '/flag', { POOLPARTY_STATE_DIR: '/env' })).toBe('/flag');
    expect(resolveStateDir(pool, undefined, { POOLPARTY_STATE_DIR: '/env' })).toBe('/env');
    expect(resolveStateDir(pool, undefined, {})).toBe('/from/def');
    expect(resolveStateDir({ name: 'p' }, undefined, {})).toBe(join(homedir(), '.poolparty', 'p'));
  });
});
