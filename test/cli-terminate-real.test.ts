import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalState } from '../shared/remoter/local-state.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import { killMatching, randomLoopbackBase, rootPidsMatching, waitFor } from './fixtures/procs.ts';
import { runCli } from './fixtures/run-cli.ts';

// The built CLI with real agents whose leader heals the pool back to min while terminate runs.
/** Real agents converge in seconds, but the machine is shared: bounded generously all the same. */
const SLOW = 180_000;
const CLI = resolve('bin/poolparty.mjs');
let dir: string;
let config: string;
let stateDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-term-real-'));
  stateDir = join(dir, 'state');
  config = join(dir, 'clouds.ts');
  await writeFile(
    config,
    `import { definePool, local } from 'poolparty';
export default definePool({
  name: 'termreal',
  clouds: {
    web: {
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

const cli = (...args: string[]) => runCli([CLI, ...args, '--state-dir', stateDir], env, 150_000);
const agents = () => rootPidsMatching(join(stateDir, 'local'));

describe('poolparty terminate against real self-healing agents', () => {
  it(
    'leaves no agent process and nothing listed, even while the leader replaces a killed node',
    async () => {
      const boot = await cli('bootstrap', '-c', config, '--json', '--timeout', '90s');
      expect(boot.code, boot.stderr).toBe(0);
      expect((JSON.parse(boot.stdout) as { instances: InstanceRecord[] }).instances).toHaveLength(3);
      expect(agents()).toHaveLength(3);

      // A node dies: the leader will launch its replacement, possibly while terminate runs.
      const state = JSON.parse(await readFile(join(stateDir, 'local', 'instances.json'), 'utf8')) as LocalState;
      const victim = state.instances.find((i) => i.id === 'local-3');
      process.kill(victim?.pid as number, 'SIGKILL');
      await waitFor(() => !agents().includes(victim?.pid as number), 'the killed agent gone');

      const term = await cli('terminate', '-c', config, '--yes', '--json');
      expect(term.code, term.stderr).toBe(0);
      expect(term.stderr).toMatch(/round 1: terminating local-/);
      expect(agents()).toEqual([]);
      const list = await cli('list', '-c', config, '--json');
      expect(list.code, list.stderr).toBe(0);
      expect(JSON.parse(list.stdout)).toEqual([]);
    },
    SLOW,
  );
});
