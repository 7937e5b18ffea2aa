import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalState } from '../shared/remoter/local-state.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import { LocalPool } from './fixtures/local-pool.ts';
import { rootPidsMatching } from './fixtures/procs.ts';
import { waitFor } from './fixtures/wait.ts';

// The built CLI with real agents whose leader heals the pool back to min while terminate runs.
/** Real agents converge in seconds, but the machine is shared: bounded generously all the same. */
const SLOW = 180_000;
let pool: LocalPool;

beforeAll(async () => {
  pool = await LocalPool.create({
    name: 'termreal',
    agent: 'real',
    cloudFields: "agent: { heartbeatInterval: '250ms' },",
    cliTimeoutMs: 150_000,
  });
});

afterAll(() => pool?.cleanup());

const cli = (...args: string[]) => pool.cli(...args);
const agents = () => rootPidsMatching(join(pool.stateDir, 'local'));

describe('poolparty terminate against real self-healing agents', () => {
  it(
    'leaves no agent process and nothing listed, even while the leader replaces a killed node',
    async () => {
      const boot = await cli('bootstrap', '-c', pool.config, '--json', '--timeout', '90s');
      expect(boot.code, boot.stderr).toBe(0);
      expect((JSON.parse(boot.stdout) as { instances: InstanceRecord[] }).instances).toHaveLength(3);
      expect(agents()).toHaveLength(3);

      // A node dies: the leader will launch its replacement, possibly while terminate runs.
      const state = JSON.parse(await readFile(join(pool.stateDir, 'local', 'instances.json'), 'utf8')) as LocalState;
      const victim = state.instances.find((i) => i.id === 'local-3');
      process.kill(victim?.pid as number, 'SIGKILL');
      await waitFor('the killed agent gone', () => !agents().includes(victim?.pid as number));

      const term = await cli('terminate', '-c', pool.config, '--yes', '--json');
      expect(term.code, term.stderr).toBe(0);
      expect(term.stderr).toMatch(/round 1: terminating local-/);
      expect(agents()).toEqual([]);
      const list = await cli('list', '-c', pool.config, '--json');
      expect(list.code, list.stderr).toBe(0);
      expect(JSON.parse(list.stdout)).toEqual([]);
    },
    SLOW,
  );
});
