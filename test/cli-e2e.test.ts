import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import { LocalPool } from './fixtures/local-pool.ts';
import { pidsMatching } from './fixtures/procs.ts';
import { statusUntilAlive } from './fixtures/run-cli.ts';

// The built CLI starting real agents (bin/poolparty.mjs → dist/).
let pool: LocalPool;

describe('poolparty CLI end to end (real agents)', () => {
  beforeAll(async () => {
    pool = await LocalPool.create({
      name: 'e2e',
      cloud: 'local',
      agent: 'real',
      cloudFields: "agent: { heartbeatInterval: '250ms' },",
    });
  });

  afterAll(() => pool?.cleanup());

  const cli = (...args: string[]) => pool.cli(...args);

  it('bootstraps a 3-node pool, shows it alive, lists and terminates it', async () => {
    const boot = await cli('bootstrap', '-c', pool.config, '--timeout', '45s', '--json');
    expect(boot.code, boot.stderr).toBe(0);
    expect(JSON.parse(boot.stdout).instances).toHaveLength(3);

    const { view, alive, states } = await statusUntilAlive(() => cli('status', '-c', pool.config, '--json'), 3);
    expect(view.pool).toBe('e2e');
    expect(alive, states).toEqual(['local-1', 'local-2', 'local-3']);

    const list = await cli('list', '-c', pool.config, '--json');
    const instances = JSON.parse(list.stdout) as InstanceRecord[];
    expect(instances.map((i) => i.state)).toEqual(['running', 'running', 'running']);
    expect(pidsMatching(pool.stateDir)).toHaveLength(3);

    const term = await cli('terminate', '-c', pool.config, '--yes', '--json');
    expect(term.code, term.stderr).toBe(0);
    expect(JSON.parse(term.stdout).terminated).toHaveLength(3);
    expect(pidsMatching(pool.stateDir)).toEqual([]);
  });
});
