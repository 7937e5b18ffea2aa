import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultPool } from './fixtures/fault-pool.ts';
import { waitFor } from './fixtures/wait.ts';

/**
 * A fresh bootstrap of real local agents (`poolparty bootstrap`, spawned together, each given the
 * ones before it as seeds) elects one leader at term 1: an agent with seeds claims nothing before
 * it has joined through one (leader/seeds.ts). Before, each of 5 agents elected itself at term 1
 * within a second of starting and the pool settled at term 2.
 */
describe('bootstrap of real agents: one term-1 claimant', () => {
  let pool: FaultPool;

  beforeAll(async () => {
    pool = await FaultPool.create({ name: 'eboot', min: 5, max: 5 });
    await pool.bootstrap();
  }, 150_000);

  afterAll(async () => {
    await pool?.cleanup();
  }, 120_000);

  it('every agent follows one leader at term 1, and only it ever claimed', async () => {
    await waitFor('5 alive', () => pool.converged(5), { timeoutMs: 120_000, everyMs: 500 });
    const leader = await waitFor('one leader', () => pool.agreedLeader(), { timeoutMs: 60_000 });
    expect(leader.term).toBe(1);
    const claims: string[] = [];
    for (const i of await pool.listAll()) {
      for (const line of (await readFile(i.logFile, 'utf8')).split('\n')) {
        if (!line.includes('"leader-elected"') || !line.includes('"self":true')) continue;
        claims.push(`${i.id}@${(JSON.parse(line) as { term: number }).term}`);
      }
    }
    expect(claims).toEqual([`${leader.instanceId}@1`]);
  }, 200_000);
});
