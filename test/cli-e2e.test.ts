import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import { killMatching, pidsMatching, randomLoopbackBase } from './fixtures/procs.ts';
import { runCli, statusUntilAlive } from './fixtures/run-cli.ts';

// The built CLI starting real agents (bin/poolparty.mjs → dist/). Runs once agent/main.ts exists.
const CLI = resolve('bin/poolparty.mjs');
let dir: string;
let config: string;
let stateDir: string;
let env: NodeJS.ProcessEnv;

describe('poolparty CLI end to end (real agents)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-e2e-'));
    stateDir = join(dir, 'state');
    config = join(dir, 'clouds.ts');
    await writeFile(
      config,
      `import { definePool, local } from 'poolparty';
export default definePool({
  name: 'e2e',
  clouds: {
    local: {
      instances: { min: 3, max: 5 },
      using: local({ firstAddress: '${randomLoopbackBase()}' }),
      agent: { heartbeatInterval: '250ms' },
    },
  },
});
`,
    );
    const { POOLPARTY_AGENT_BIN: _ignored, ...rest } = process.env;
    env = rest;
  });

  afterAll(async () => {
    if (!dir) return;
    await killMatching(dir);
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  const cli = (...args: string[]) => runCli([CLI, ...args, '--state-dir', stateDir], env);

  it('bootstraps a 3-node pool, shows it alive, lists and terminates it', async () => {
    const boot = await cli('bootstrap', '-c', config, '--timeout', '45s', '--json');
    expect(boot.code, boot.stderr).toBe(0);
    expect(JSON.parse(boot.stdout).instances).toHaveLength(3);

    const { view, alive, states } = await statusUntilAlive(() => cli('status', '-c', config, '--json'), 3);
    expect(view.pool).toBe('e2e');
    expect(alive, states).toEqual(['local-1', 'local-2', 'local-3']);

    const list = await cli('list', '-c', config, '--json');
    const instances = JSON.parse(list.stdout) as InstanceRecord[];
    expect(instances.map((i) => i.state)).toEqual(['running', 'running', 'running']);
    expect(pidsMatching(stateDir)).toHaveLength(3);

    const term = await cli('terminate', '-c', config, '--yes', '--json');
    expect(term.code, term.stderr).toBe(0);
    expect(JSON.parse(term.stdout).terminated).toHaveLength(3);
    expect(pidsMatching(stateDir)).toEqual([]);
  });
});
