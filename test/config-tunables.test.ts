import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentConfigError, parseAgentConfig } from '../agent/config.ts';
import { ConfigError, loadPool, parsePool } from '../shared/config/load.ts';
import { resolveAgentConfig } from '../shared/config/resolve.ts';
import { type AgentTunables, defaultTunables, type TunablesInput } from '../shared/config/tunables.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import { localRuntime } from './helpers/agent-runtime.ts';

// One schema reads a cloud's `agent` block and an agent config's `tunables`: these check that
// both sides apply the same defaults and bounds, and what happens to the retired minConnections.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-tunables-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pool = (agent: unknown) =>
  parsePool(
    { name: 'p', clouds: { a: { instances: { min: 1, max: 2 }, using: { provider: 'local' }, agent } } },
    'p.json',
  );

function agentConfig(agent: unknown = {}): AgentConfig {
  const config = resolveAgentConfig(pool(agent), 'a', localRuntime('/state'));
  // What the agent reads is what the launcher wrote as JSON.
  return JSON.parse(JSON.stringify(config)) as AgentConfig;
}

function parseError(value: unknown): string {
  try {
    parseAgentConfig(value, 'agent.json');
  } catch (err) {
    expect(err).toBeInstanceOf(AgentConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the agent config to be rejected');
}

describe('a clouds.ts still setting minConnections', () => {
  it('fails to load with one line naming it and what to do', async () => {
    const file = join(dir, 'clouds.ts');
    await writeFile(
      file,
      `import { definePool, local } from 'poolparty';
export default definePool({ name: 'demo', clouds: { web: { instances: { min: 1, max: 2 }, using: local(), agent: { heartbeatInterval: '1s', minConnections: 8 } } } });
`,
    );
    const err = await loadPool(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      `${file}: clouds.web.agent.minConnections: no longer exists (nothing read it since the ring overlay): delete it`,
    );
  });

  it('is not an accepted key of the tunables type either', () => {
    // @ts-expect-error minConnections is gone from TunablesInput
    const input: TunablesInput = { minConnections: 8 };
    expect(() => pool(input)).toThrow(/agent\.minConnections: no longer exists/);
  });
});

describe('an agent config carrying minConnections (written by an older CLI)', () => {
  it('is accepted without it', () => {
    const config = agentConfig({ heartbeatInterval: 200 });
    const old = { ...config, tunables: { ...config.tunables, minConnections: 8 } };
    const parsed = parseAgentConfig(old);
    expect(parsed.tunables).toEqual(defaultTunables(200));
    expect(parsed.tunables).not.toHaveProperty('minConnections');
  });

  it('still rejects an unknown tunable', () => {
    const config = agentConfig();
    expect(parseError({ ...config, tunables: { ...config.tunables, minConection: 8 } })).toMatch(
      /^agent\.json: tunables: .*minConection/,
    );
  });
});

describe('the same defaults and bounds on both sides', () => {
  it('lets clouds.ts set every tunable the agent reads, including the bundle ones', () => {
    const agent = pool({ applyTimeout: '20m', maxBundleBytes: 1024, maxUnavailable: 2, rings: 4 }).clouds.a!.agent;
    expect(agent).toEqual({
      ...defaultTunables(),
      applyTimeout: 1_200_000,
      maxBundleBytes: 1024,
      maxUnavailable: 2,
      rings: 4,
    });
    expect(parseAgentConfig(agentConfig({ applyTimeout: '20m', maxUnavailable: 2 })).tunables).toMatchObject({
      applyTimeout: 1_200_000,
      maxUnavailable: 2,
    });
  });

  it('fills what an agent config leaves out with the defaults clouds.ts gets', () => {
    const config = agentConfig({ heartbeatInterval: 250 });
    const { loadInterval, replaceAfter, rings, suspectAfter, deadAfter, ...rest } = config.tunables;
    const parsed = parseAgentConfig({ ...config, tunables: rest });
    expect(parsed.tunables).toEqual(defaultTunables(250));
    expect(parsed.tunables).toMatchObject({ suspectAfter: 750, deadAfter: 1250, loadInterval: 2000, rings: 3 });
  });

  it('rejects suspectAfter not below deadAfter in either, with the same words', () => {
    expect(() => pool({ suspectAfter: 3000, deadAfter: 3000 })).toThrow(
      'p.json: clouds.a.agent: suspectAfter (3000ms) must be less than deadAfter (3000ms)',
    );
    const config = agentConfig();
    expect(parseError({ ...config, tunables: { ...config.tunables, suspectAfter: 3000, deadAfter: 3000 } })).toBe(
      'agent.json: tunables: suspectAfter (3000ms) must be less than deadAfter (3000ms)',
    );
  });

  it('applies the same lower bounds', () => {
    expect(() => pool({ maxMessageBytes: 100 })).toThrow(/clouds\.a\.agent\.maxMessageBytes: must be at least 256/);
    const config = agentConfig();
    expect(parseError({ ...config, tunables: { ...config.tunables, maxMessageBytes: 100 } })).toMatch(
      /^agent\.json: tunables\.maxMessageBytes: /,
    );
    expect(parseError({ ...config, tunables: { ...config.tunables, rings: 0 } })).toMatch(
      /^agent\.json: tunables\.rings: /,
    );
  });

  it('types counts as numbers and durations as ms or strings', () => {
    const ok: TunablesInput = { heartbeatInterval: '500ms', deadAfter: 5000, rings: 2, maxUnavailable: 3 };
    // @ts-expect-error rings is a count, not a duration
    const bad: TunablesInput = { rings: '3s' };
    const resolved: AgentTunables = pool(ok).clouds.a!.agent;
    expect(resolved).toMatchObject({ heartbeatInterval: 500, suspectAfter: 1500, deadAfter: 5000, rings: 2 });
    expect(() => pool(bad)).toThrow(/agent\.rings: expected a number, got string/);
  });
});

describe("the agent config's scaling block", () => {
  it('rejects min above max and a rule the agent cannot parse, naming the field', () => {
    const config = agentConfig();
    const scaling = config.scaling!;
    expect(parseError({ ...config, scaling: { ...scaling, min: 3, max: 2 } })).toBe(
      'agent.json: scaling.min: 3 is greater than max (2)',
    );
    expect(
      parseError({ ...config, scaling: { ...scaling, config: { ...scaling.config, expandWhen: 'load >' } } }),
    ).toMatch(/^agent\.json: scaling\.config\.expandWhen: /);
  });

  it('reads beforeTerminate null as none and fills its timeout when missing', () => {
    const config = agentConfig();
    const scaling = config.scaling!;
    expect(parseAgentConfig(config).scaling?.config.beforeTerminate).toBeNull();
    const hook = { ...scaling, config: { ...scaling.config, beforeTerminate: { command: 'true' } } };
    expect(parseAgentConfig({ ...config, scaling: hook }).scaling?.config.beforeTerminate).toEqual({
      command: 'true',
      timeout: 30_000,
    });
  });
});

describe('the documentation keeps up with the schemas', () => {
  it("README's tunables table names exactly the tunables the schema defines, with their defaults", async () => {
    const readme = await readFile('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('### Agent tunables'), readme.indexOf('Custom metric sources'));
    const rows = [...section.matchAll(/^\| `(\w+)`\s*\|\s*([^|]+?)\s*\|/gm)].map(
      (m) => [m[1] as string, m[2] as string] as const,
    );
    const defaults = defaultTunables();
    expect(rows.map(([name]) => name).sort()).toEqual(Object.keys(defaults).sort());
    for (const [name, written] of rows) {
      // Derived defaults are written as a formula ('3 × heartbeat'); plain ones as the number.
      if (/^\d+$/.test(written)) expect(Number(written), name).toBe(defaults[name as keyof AgentTunables]);
    }
  });

  it('docs/configuration.md lists every exported *_DEFAULTS object', async () => {
    const listed = await readFile('docs/configuration.md', 'utf8');
    const names = new Set<string>();
    for (const root of ['agent', 'cli', 'shared']) {
      for (const file of await readdir(root, { recursive: true })) {
        if (!file.endsWith('.ts')) continue;
        const text = await readFile(join(root, file), 'utf8');
        for (const m of text.matchAll(/^export const (\w+_DEFAULTS)\b/gm)) names.add(m[1] as string);
      }
    }
    expect(names.size).toBeGreaterThan(5);
    expect([...names].filter((name) => !listed.includes(`\`${name}\``))).toEqual([]);
  });
});
