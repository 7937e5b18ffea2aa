import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalInstanceRecord } from '../shared/remoter/local.ts';
import { PolicyPool } from './fixtures/policy-pool.ts';
import { waitFor } from './fixtures/wait.ts';

/**
 * Warm-up on real agents: each member reports its own `c` (a command reading a file in its
 * instance directory, 0 while the file is missing, as a fresh node's idle CPU). The old members
 * run at the target; two fresh ones report 0 and must not drag the average into a scale-in until
 * their warm-up is over.
 */
let pool: PolicyPool;

/** Writes `value` as the `c` metric of each of `instances` (its agent runs in its directory). */
async function report(instances: LocalInstanceRecord[], value: number): Promise<void> {
  await Promise.all(instances.map((i) => writeFile(join(dirname(i.logFile), 'c'), `${value}\n`)));
}

describe('warm-up on a real local pool', () => {
  beforeAll(async () => {
    const started = await PolicyPool.start('warm', {
      bounds: { min: 2, max: 4 },
      cloud: () => `metrics: { c: { command: 'cat c 2>/dev/null || echo 0', every: '250ms' } },`,
      scaling: `target: { metric: 'c', value: 50, scaleInStabilization: '1s' },
        warmup: '30s',`,
    });
    pool = started.pool;
    expect(started.boot.code, started.boot.stderr).toBe(0);
  });

  afterAll(() => pool?.cleanup());

  it("a fresh member's idle metric is left out until its warm-up is over", { timeout: 240_000 }, async () => {
    const old = await pool.running();
    expect(old).toHaveLength(2);
    // Once the bootstrap members are warm, 100 against a target of 50 doubles the pool: two fresh
    // members join, reporting 0.
    await report(old, 100);
    await waitFor('4 instances', async () => (await pool.running()).length === 4, { timeoutMs: 90_000, everyMs: 250 });
    const fresh = (await pool.running()).filter((i) => !old.some((o) => o.id === i.id));
    await report(old, 50);
    // Counted, the fresh zeros would make the average 25 and the target ask for 2. Left out, the
    // old members' 50 is on target: hold 4.
    const held = await waitFor(
      'the leader leaving the fresh members out and holding 4',
      async () => {
        const s = await pool.leaderScaling();
        const target = s?.policies?.find((p) => p.policy === 'target');
        const warming = s?.counted?.warming ?? [];
        return fresh.every((f) => warming.includes(f.id)) && target?.desired === 4 ? s : null;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    expect(held.policies?.find((p) => p.policy === 'target')?.why).toBe('avg(c) 50 is within ±10% of target 50');
    const since = Date.now();
    expect((await pool.decisions()).filter((d) => d.action === 'contract')).toEqual([]);
    // After their warm-up the zeros count: the target asks for ceil(4 × 25 / 50) = 2 (via 3 when
    // one fresh member's warm-up ends a moment before the other's).
    const contract = await waitFor(
      'a contraction once the fresh members count',
      async () => (await pool.decisions()).find((d) => d.action === 'contract' && d.at >= since),
      { timeoutMs: 90_000, everyMs: 250 },
    );
    expect(contract.policy).toBe('target');
    expect(contract.reason).toMatch(/^avg\(c\) [\d.]+ vs target 50: 4 → [23]/);
    await waitFor('back to 2', async () => (await pool.running()).length === 2, { timeoutMs: 90_000, everyMs: 250 });
  });

  it('terminate leaves no agent process', { timeout: 60_000 }, async () => {
    const r = await pool.terminate();
    expect(r.code, r.stderr).toBe(0);
    await waitFor('no agent left', () => pool.agentsLeft() === 0, { timeoutMs: 10_000 });
  });
});
