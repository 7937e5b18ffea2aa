import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePool } from '../shared/config/load.ts';
import { createLocalRemoter, type LocalInstanceRecord } from '../shared/remoter/local.ts';
import { findPackageRoot } from '../shared/remoter/package-root.ts';
import { RemoterError } from '../shared/remoter/types.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import { killMatching, pidsMatching, randomLoopbackBase } from './fixtures/procs.ts';
import { waitFor } from './fixtures/wait.ts';

// What a leader needs from the local remoter: its tags kept, and launches from inside an agent
// process that outlive that process.
const FAKE_AGENT = resolve('test/fixtures/fake-poolparty-agent.mjs');
let root: string;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'poolparty-local-agent-'));
});

afterAll(async () => {
  await killMatching(root);
  await rm(root, { recursive: true, force: true, maxRetries: 5 });
});

function setup() {
  const stateDir = join(root, `pool-${++n}`);
  const definition = {
    name: `la${n}`,
    clouds: {
      web: {
        instances: { min: 1, max: 3 },
        using: { provider: 'local', firstAddress: randomLoopbackBase() },
        metrics: { queue: { file: 'queue' } },
        scaling: { expandWhen: 'queue > 10 for 3s' },
      },
    },
  };
  const pool = parsePool(definition, 'test.json');
  return {
    stateDir,
    definition,
    pool,
    remoter: createLocalRemoter({ pool, cloud: 'web', stateDir, agentBin: FAKE_AGENT }),
  };
}

describe('local remoter, as a leader uses it', () => {
  it('stores the caller tags on every instance and lists them; its own tags win', async () => {
    const { remoter, pool, stateDir } = setup();
    const tags = { 'poolparty:term': '7', 'poolparty:action': '3', 'poolparty:pool': 'forged' };
    const launched = await remoter.launch({ cloud: 'web', count: 2, clientToken: 'tok-t', tags });
    const expected = {
      'poolparty:term': '7',
      'poolparty:action': '3',
      'poolparty:pool': pool.name,
      'poolparty:cloud': 'web',
      'poolparty:token': 'tok-t',
    };
    expect(launched.map((i) => i.tags)).toEqual([expected, expected]);
    const listed = await remoter.list({ pool: pool.name, cloud: 'web' });
    expect(listed.map((i) => i.tags)).toEqual([expected, expected]);
    // The record is a copy: changing what launch returned changes nothing stored.
    launched[0]!.tags['poolparty:term'] = '8';
    expect((await remoter.list({ pool: pool.name }))[0]!.tags['poolparty:term']).toBe('7');
    // A launch with the same token returns the earlier instances, tags included.
    const again = await remoter.launch({ cloud: 'web', count: 2, clientToken: 'tok-t' });
    expect(again.map((i) => i.tags)).toEqual([expected, expected]);
    await remoter.terminate(launched.map((i) => i.id));
    expect(pidsMatching(stateDir)).toEqual([]);
  });

  it('rejects a tag value that is not a string, launching nothing', async () => {
    const { remoter, pool } = setup();
    const tags = { 'poolparty:term': 7 } as unknown as Record<string, string>;
    await expect(remoter.launch({ cloud: 'web', count: 1, clientToken: 'x', tags })).rejects.toThrow(
      new RemoterError("tag 'poolparty:term' must be a string, got number"),
    );
    expect(await remoter.list({ pool: pool.name })).toEqual([]);
  });

  it('gives each agent the scaling block with the state dir, so a leader can launch more', async () => {
    const { remoter, stateDir, pool } = setup();
    const [inst] = await remoter.launch({ cloud: 'web', count: 1, clientToken: 'cfg' });
    const config = JSON.parse(await readFile(join(stateDir, 'local', inst!.id, 'agent.json'), 'utf8')) as AgentConfig;
    expect(config.scaling).toMatchObject({ min: 1, max: 3, stateDir, definition: pool });
    expect(config.scaling!.config.expandWhen).toBe('queue > 10 for 3s');
    expect(config.metrics.queue).toMatchObject({ kind: 'file', file: join(stateDir, 'queue') });
    await remoter.terminate([inst!.id]);
  });

  it('launches from a process that exits right after: the agent outlives its launcher', async () => {
    const { stateDir, definition, pool, remoter } = setup();
    const launcher = join(root, `launcher-${n}.mts`);
    const src = (p: string) => JSON.stringify(pathToFileURL(resolve(p)).href);
    await writeFile(
      launcher,
      `import { parsePool } from ${src('shared/config/load.ts')};
import { createLocalRemoter } from ${src('shared/remoter/local.ts')};
const pool = parsePool(${JSON.stringify(definition)}, 'test.json');
const remoter = createLocalRemoter({ pool, cloud: 'web', stateDir: ${JSON.stringify(stateDir)}, agentBin: ${JSON.stringify(FAKE_AGENT)} });
const launched = await remoter.launch({ cloud: 'web', count: 2, clientToken: 'from-leader', tags: { 'poolparty:term': '1' } });
process.stdout.write(JSON.stringify(launched));
process.exit(0);
`,
    );
    const out = execFileSync(process.execPath, ['--import', 'tsx', launcher], { encoding: 'utf8', timeout: 30_000 });
    const launched = JSON.parse(out) as LocalInstanceRecord[];
    expect(launched).toHaveLength(2);
    // The launcher is gone; its agents run on and answer on their own addresses.
    for (const inst of launched) {
      const health = await waitFor(`${inst.id} /health`, async () => {
        const res = await fetch(`${inst.monitor}/health`, { signal: AbortSignal.timeout(1000) });
        return (await res.json()) as { instanceId: string };
      });
      expect(health.instanceId).toBe(inst.id);
    }
    expect(pidsMatching(stateDir).sort()).toEqual(launched.map((i) => i.pid).sort());
    const listed = await remoter.list({ pool: pool.name });
    expect(listed.map((i) => [i.state, i.tags['poolparty:term']])).toEqual([
      ['running', '1'],
      ['running', '1'],
    ]);
    await remoter.terminate(launched.map((i) => i.id));
    expect(pidsMatching(stateDir)).toEqual([]);
  });

  it('finds the package root from the bundled agent in dist/', () => {
    const bundle = pathToFileURL(resolve('dist/poolparty-agent.mjs')).href;
    expect(findPackageRoot(bundle)).toBe(resolve('.'));
    expect(findPackageRoot(pathToFileURL(resolve('shared/remoter/local.ts')).href)).toBe(resolve('.'));
  });
});
