import { afterAll, beforeAll, expect, it } from 'vitest';
import { FaultPool, type FaultPoolOptions } from '../fixtures/fault-pool.ts';
import { leftoverChains, Partition } from '../fixtures/partition.ts';

/**
 * What every partition file of the fault suite shares: one real pool bootstrapped with a sampler
 * and an iptables chain of its own before its cases, and a last case that heals, terminates and
 * checks that nothing is left — no agent, no listed instance, no rule. Call inside a describe.
 */
export function partitionSuite(opts: FaultPoolOptions): { pool: () => FaultPool; cut: () => Partition } {
  let pool: FaultPool | undefined;
  let cut: Partition | undefined;

  beforeAll(async () => {
    pool = await FaultPool.create(opts);
    cut = new Partition();
    await pool.bootstrap();
    pool.startSampler();
  });

  afterAll(async () => {
    cut?.dispose();
    await pool?.cleanup();
    expect(leftoverChains()).not.toContain(cut?.chain);
  });

  const need = <T>(x: T | undefined, what: string): T => {
    if (x === undefined) throw new Error(`partition suite: no ${what} (beforeAll failed)`);
    return x;
  };
  return { pool: () => need(pool, 'pool'), cut: () => need(cut, 'partition') };
}

/** The last case of a partition file (after `partitionSuite`): terminate leaves nothing. */
export function terminateLeavesNothing(s: ReturnType<typeof partitionSuite>): void {
  it('terminate leaves nothing, and no rule is left in iptables', async () => {
    const pool = s.pool();
    await pool.setQueue(5);
    s.cut().heal();
    expect(s.cut().rules()).toEqual([]);
    const { run, pids, listed } = await pool.terminate();
    expect(run.code, run.stderr).toBe(0);
    expect(pids).toEqual([]);
    expect(listed).toEqual([]);
  });
}
