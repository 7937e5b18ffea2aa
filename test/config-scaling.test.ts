import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../agent/config.ts';
import { ConfigError, loadPool, parsePool } from '../shared/config/load.ts';
import { resolveAgentConfig, resolveMetricFile } from '../shared/config/resolve.ts';
import { SCALING_DEFAULTS } from '../shared/scaling/config.ts';
import { localRuntime } from './helpers/agent-runtime.ts';

let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-config-scaling-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A clouds.ts with one cloud 'web' (custom metric `queue`) and the given scaling block. */
async function poolFile(scaling: string, metrics = `{ queue: { file: 'queue' } }`): Promise<string> {
  const path = join(dir, `clouds-${++n}.ts`);
  await writeFile(
    path,
    `import { definePool, local } from 'poolparty';
export default definePool({
  name: 'web',
  clouds: { web: { instances: { min: 2, max: 6 }, using: local(), metrics: ${metrics}, scaling: ${scaling} } },
});
`,
  );
  return path;
}

async function loadError(path: string): Promise<string> {
  const err = await loadPool(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return (err as Error).message;
}

describe('scaling block', () => {
  it('resolves every field to ms, keeps the rules as written', async () => {
    const pool = await loadPool(
      await poolFile(`{
        expandWhen: 'queue > 100 and load > 0.5 for 10s',
        contractWhen: 'max(cpu) < 20 for 2m',
        expandBy: 2,
        contractBy: 3,
        cooldown: { expand: '1m', contract: 180000 },
        minimumRuntime: '10m',
        victim: 'oldest',
        joinTimeout: '5m',
        interval: '250ms',
        drainTimeout: '30s',
        intentTimeout: '1m',
        deadGrace: '0s',
        beforeTerminate: { command: 'sh -c "echo bye"', timeout: '45s' },
      }`),
    );
    expect(pool.clouds.web!.scaling).toEqual({
      expandWhen: 'queue > 100 and load > 0.5 for 10s',
      contractWhen: 'max(cpu) < 20 for 2m',
      expandBy: 2,
      contractBy: 3,
      cooldown: { expand: 60_000, contract: 180_000 },
      minimumRuntime: 600_000,
      victim: 'oldest',
      joinTimeout: 300_000,
      interval: 250,
      drainTimeout: 30_000,
      intentTimeout: 60_000,
      deadGrace: 0,
      beforeTerminate: { command: 'sh -c "echo bye"', timeout: 45_000 },
      target: null,
      steps: [],
      schedule: [],
      maxMetricAge: 60_000,
      warmup: 0,
    });
  });

  it('fills defaults for what is missing, field by field', async () => {
    const pool = await loadPool(
      await poolFile(
        `{ expandWhen: 'load > 0.8 for 30s', cooldown: { contract: '5m' }, beforeTerminate: { command: 'x' } }`,
      ),
    );
    expect(pool.clouds.web!.scaling).toEqual({
      ...SCALING_DEFAULTS,
      expandWhen: 'load > 0.8 for 30s',
      cooldown: { expand: SCALING_DEFAULTS.cooldown.expand, contract: 300_000 },
      beforeTerminate: { command: 'x', timeout: 30_000 },
    });
  });

  it('is SCALING_DEFAULTS when absent, as a copy per cloud', () => {
    const pool = parsePool(
      {
        name: 'p',
        clouds: {
          a: { instances: { min: 1, max: 2 }, using: { provider: 'local' } },
          b: { instances: { min: 1, max: 2 }, using: { provider: 'local' }, scaling: { expandWhen: null } },
        },
      },
      'p.json',
    );
    expect(pool.clouds.a!.scaling).toEqual(SCALING_DEFAULTS);
    expect(pool.clouds.b!.scaling).toEqual(SCALING_DEFAULTS);
    expect(pool.clouds.a!.scaling).not.toBe(SCALING_DEFAULTS);
    expect(pool.clouds.a!.scaling.cooldown).not.toBe(SCALING_DEFAULTS.cooldown);
  });

  const ruleErrors: [string, string, string][] = [
    [
      'unknown metric',
      `{ expandWhen: 'laod > 0.8 for 30s' }`,
      `clouds.web.scaling.expandWhen: unknown metric 'laod' at column 1 (known: load, cpu, mem, queue)`,
    ],
    [
      'unknown metric inside an aggregate, in contractWhen',
      `{ contractWhen: 'load < 0.2 and max(qeue) < 5' }`,
      `clouds.web.scaling.contractWhen: unknown metric 'qeue' at column 20 (known: load, cpu, mem, queue)`,
    ],
    [
      'unknown aggregate',
      `{ expandWhen: 'top(cpu) > 90' }`,
      `clouds.web.scaling.expandWhen: unknown aggregate 'top' at column 1: expected avg, min, max, sum, p50, p90, p99, permember`,
    ],
    [
      'missing number',
      `{ expandWhen: 'load > for 30s' }`,
      `clouds.web.scaling.expandWhen: unexpected 'for' at column 8: expected a number`,
    ],
    [
      'bad sustain duration',
      `{ expandWhen: 'load > 0.8 for 30x' }`,
      `clouds.web.scaling.expandWhen: bad duration '30x' at column 16: expected e.g. 500ms, 30s, 2m, 1h`,
    ],
    [
      'trailing garbage',
      `{ contractWhen: 'load < 0.2 for 2m please' }`,
      `clouds.web.scaling.contractWhen: unexpected 'please' at column 19: expected end of rule`,
    ],
    ['empty rule', `{ expandWhen: '' }`, `clouds.web.scaling.expandWhen: must not be empty`],
    ['rule not a string', `{ expandWhen: 5 }`, `clouds.web.scaling.expandWhen: expected a string, got number`],
  ];
  const fieldErrors: [string, string, string][] = [
    ['expandBy 0', `{ expandBy: 0 }`, 'clouds.web.scaling.expandBy: must be at least 1, got 0'],
    ['expandBy not an integer', `{ expandBy: 1.5 }`, 'clouds.web.scaling.expandBy: expected an integer, got 1.5'],
    ['contractBy a string', `{ contractBy: '2' }`, 'clouds.web.scaling.contractBy: expected a number, got string'],
    ['contractBy negative', `{ contractBy: -1 }`, 'clouds.web.scaling.contractBy: must be at least 1, got -1'],
    [
      'unknown victim policy',
      `{ victim: 'random' }`,
      'clouds.web.scaling.victim: expected "least-loaded" or "newest" or "oldest", got "random"',
    ],
    [
      'bad cooldown duration',
      `{ cooldown: { expand: 'soon' } }`,
      `clouds.web.scaling.cooldown.expand: invalid duration 'soon': expected e.g. 500ms, 5s, 2m, 1h`,
    ],
    ['unknown cooldown key', `{ cooldown: { grow: '1m' } }`, `clouds.web.scaling.cooldown: unknown key 'grow'`],
    [
      'unknown scaling key',
      `{ expandWhenn: 'load > 1' }`,
      `clouds.web.scaling: unknown key 'expandWhenn' (did you mean 'expandWhen'?)`,
    ],
    ['interval too short', `{ interval: '10ms' }`, 'clouds.web.scaling.interval: must be at least 100ms, got "10ms"'],
    ['joinTimeout zero', `{ joinTimeout: 0 }`, 'clouds.web.scaling.joinTimeout: must be at least 1ms, got 0'],
    [
      'negative minimumRuntime',
      `{ minimumRuntime: -5 }`,
      'clouds.web.scaling.minimumRuntime: invalid duration -5: expected a non-negative number of ms',
    ],
    [
      'hook without command',
      `{ beforeTerminate: { timeout: '5s' } }`,
      'clouds.web.scaling.beforeTerminate.command: required',
    ],
    ['scaling not an object', `'auto'`, 'clouds.web.scaling: expected an object, got string'],
  ];
  for (const [what, scaling, expected] of [...ruleErrors, ...fieldErrors]) {
    it(`error: ${what}`, async () => {
      const path = await poolFile(scaling);
      expect(await loadError(path)).toBe(`${path}: ${expected}`);
    });
  }

  it("a rule may only name this cloud's metrics", () => {
    const def = {
      name: 'p',
      clouds: {
        a: { instances: { min: 1, max: 2 }, using: { provider: 'local' }, metrics: { queue: { file: '/q' } } },
        b: { instances: { min: 1, max: 2 }, using: { provider: 'local' }, scaling: { expandWhen: 'queue > 1' } },
      },
    };
    expect(() => parsePool(def, 'clouds.ts')).toThrow(
      new ConfigError(
        "clouds.ts: clouds.b.scaling.expandWhen: unknown metric 'queue' at column 1 (known: load, cpu, mem)",
      ),
    );
  });
});

describe('resolveAgentConfig with scaling', () => {
  it('carries bounds, the resolved rules, the definition and the state dir, as plain JSON', async () => {
    const pool = await loadPool('examples/local/clouds.ts');
    const config = resolveAgentConfig(pool, 'local', localRuntime('/srv/pools/demo'));
    expect(config.scaling).toEqual({
      min: 3,
      max: 5,
      config: pool.clouds.local!.scaling,
      definition: pool,
      stateDir: '/srv/pools/demo',
    });
    expect(JSON.parse(JSON.stringify(config))).toEqual(config);
    // Nothing is shared with the launcher's pool.
    config.scaling!.config.cooldown.expand = 1;
    config.scaling!.definition.clouds.local!.instances.max = 99;
    expect(pool.clouds.local!.scaling.cooldown.expand).toBe(3000);
    expect(pool.clouds.local!.instances.max).toBe(5);
  });

  it("resolves a relative metric file under the state dir, '~/' under home, keeps absolute paths", () => {
    const pool = parsePool(
      {
        name: 'p',
        clouds: {
          a: {
            instances: { min: 1, max: 2 },
            using: { provider: 'local' },
            metrics: {
              q: { file: 'q/depth' },
              h: { file: '~/h' },
              abs: { file: '/var/abs' },
              c: { command: 'echo 1' },
            },
          },
        },
      },
      'p.json',
    );
    const config = resolveAgentConfig(pool, 'a', localRuntime('/state'));
    expect(config.metrics.q).toMatchObject({ kind: 'file', file: '/state/q/depth' });
    expect(config.metrics.h).toMatchObject({ kind: 'file', file: join(homedir(), 'h') });
    expect(config.metrics.abs).toMatchObject({ kind: 'file', file: '/var/abs' });
    expect(config.metrics.c).toEqual({ kind: 'command', command: 'echo 1', every: 5000, timeout: 2000 });
    // The definition keeps it relative: a leader launching more agents resolves it the same way.
    expect(config.scaling!.definition.clouds.a!.metrics.q).toMatchObject({ file: 'q/depth' });
    expect(resolveMetricFile('/state', 'queue')).toBe('/state/queue');
  });

  it("is accepted by the agent's config validator", async () => {
    const pool = await loadPool(await poolFile(`{ expandWhen: 'queue > 1', beforeTerminate: { command: 'true' } }`));
    const config = resolveAgentConfig(pool, 'web', localRuntime(dir));
    expect(parseAgentConfig(JSON.parse(JSON.stringify(config)))).toEqual(config);
    const defaults = resolveAgentConfig(
      parsePool({ name: 'p', clouds: { a: { instances: { min: 0, max: 1 }, using: { provider: 'local' } } } }, 'p'),
      'a',
      localRuntime(dir),
    );
    expect(parseAgentConfig(JSON.parse(JSON.stringify(defaults))).scaling?.config).toEqual(SCALING_DEFAULTS);
  });

  it('carries the first-boot bundle; an SFTP source must say how its host key is known', async () => {
    const pool = await loadPool(await poolFile('{}'));
    const sftp = { host: '10.0.0.5', port: 22, user: 'deploy', keyFile: '/k', dir: '/srv/b' };
    const sha256 = 'a'.repeat(64);
    const config = resolveAgentConfig(pool, 'web', {
      ...localRuntime(dir),
      bundle: { sha256, sftp: { ...sftp, knownHostsFile: '/etc/poolparty/known_hosts' } },
    });
    expect(parseAgentConfig(JSON.parse(JSON.stringify(config))).bundle?.sha256).toBe(sha256);
    const bad = (bundle: unknown) => () => parseAgentConfig({ ...JSON.parse(JSON.stringify(config)), bundle });
    expect(bad({ sha256, sftp })).toThrow(/bundle\.sftp: needs knownHostsFile or hostKey/);
    expect(bad({ sha256, sftp: { ...sftp, hostKey: 'md5:aa' } })).toThrow(/bundle\.sftp\.hostKey: expected a SHA256/);
    expect(bad({ sha256: 'nothex' })).toThrow(/bundle\.sha256: expected a sha256 hex digest/);
  });
});

describe('scaling policies (target, steps, schedule, metric age, warm-up)', () => {
  const parse = (scaling: unknown) =>
    parsePool(
      { name: 'p', clouds: { web: { instances: { min: 1, max: 4 }, using: { provider: 'local' }, scaling } } },
      'clouds.ts',
    ).clouds.web!.scaling;

  it('resolves durations to ms, fills each policy’s defaults, and survives the agent config round trip', async () => {
    const scaling = parse({
      target: { metric: 'cpu', value: 60 },
      steps: [{ above: 0.9, add: '50%' }],
      schedule: [{ cron: '0 8 * * 1-5', timezone: 'Europe/Berlin', min: 2, for: '10h' }],
      maxMetricAge: '30s',
      warmup: '5m',
    });
    expect(scaling.target).toEqual({
      metric: 'cpu',
      value: 60,
      agg: 'avg',
      tolerance: 0.1,
      scaleInStabilization: 300_000,
      scaleOutStabilization: 0,
    });
    expect(scaling.steps).toEqual([{ above: 0.9, add: '50%', metric: 'load', agg: 'avg' }]);
    expect(scaling.schedule).toEqual([{ cron: '0 8 * * 1-5', timezone: 'Europe/Berlin', min: 2, for: 36_000_000 }]);
    expect([scaling.maxMetricAge, scaling.warmup]).toEqual([30_000, 300_000]);
    const pool = parsePool(
      { name: 'p', clouds: { web: { instances: { min: 1, max: 4 }, using: { provider: 'local' }, scaling } } },
      'p',
    );
    const config = resolveAgentConfig(pool, 'web', localRuntime(dir));
    expect(parseAgentConfig(JSON.parse(JSON.stringify(config))).scaling?.config).toEqual(scaling);
  });

  const errors: [unknown, string][] = [
    [{ target: { metric: 'cpu', value: 0 } }, 'target.value: must be above 0'],
    [{ target: { metric: 'cpu' } }, 'target.value: required'],
    [{ target: { metric: 'cpu', value: 60, agg: 'mean' } }, 'target.agg: expected "avg" or'],
    [{ target: { metric: 'cpu', value: 60, tolerance: 1 } }, 'target.tolerance:'],
    [{ target: { metric: 'cpu load', value: 60 } }, 'target.metric: expected a metric name'],
    [{ steps: [{ above: 0.7 }] }, "steps.0: a step 'above' takes add"],
    [{ steps: [{ below: 0.2, add: 1 }] }, "steps.0: a step 'below' takes remove"],
    [{ steps: [{ above: 0.7, below: 0.2, add: 1 }] }, 'steps.0: a step needs exactly one of above, below'],
    [
      { steps: [{ below: 0.2, remove: '10' }] },
      "steps.0.remove: expected a count of instances or a percentage like '10%'",
    ],
    [{ schedule: [{ cron: '0 8 * *', min: 2 }] }, 'schedule.0.cron: expected a five-field cron'],
    [
      { schedule: [{ cron: '0 25 * * *', min: 2 }] },
      "schedule.0.cron: bad cron '0 25 * * *': Invalid value for hour: 25",
    ],
    [
      { schedule: [{ cron: '0 8 * * *', timezone: 'Mars/Base', min: 2 }] },
      "schedule.0.timezone: unknown time zone 'Mars/Base'",
    ],
    [{ schedule: [{ cron: '0 8 * * *' }] }, 'schedule.0: a schedule window sets min, max or both'],
    [{ schedule: [{ cron: '0 8 * * *', min: 5, max: 3 }] }, 'schedule.0.min: min 5 is above max 3'],
    [{ maxMetricAge: 0 }, 'maxMetricAge: must be at least 1ms'],
    [{ warmup: '-1s' }, "warmup: invalid duration '-1s'"],
    // A policy on a metric the cloud does not sample would never have a fresh sample to act on.
    [{ target: { metric: 'queue', value: 5 } }, "target.metric: unknown metric 'queue' (known: load, cpu, mem)"],
    [
      {
        steps: [
          { above: 0.7, add: 1 },
          { metric: 'qeue', above: 9, add: 2 },
        ],
      },
      "steps.1.metric: unknown metric 'qeue' (known: load, cpu, mem)",
    ],
  ];
  it.each(errors)('one line naming the field: %j', (scaling, expected) => {
    let message = '';
    try {
      parse(scaling);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message.startsWith(`clouds.ts: clouds.web.scaling.${expected}`)).toBe(true);
    expect(message).not.toContain('\n');
  });
});
