import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScalingDecision } from '../shared/wire/cluster.ts';
import { PolicyPool } from './fixtures/policy-pool.ts';
import { waitFor } from './fixtures/wait.ts';

/**
 * The scaling policies on real agents (local remoter, loopback): one pool with a schedule window,
 * a target on metric `q` and steps on metric `s`, both custom metrics read from files the test
 * writes. Each phase drives one policy and checks the leader's decision names it.
 */
let pool: PolicyPool;
let windowStart: number;

const write = (metric: 'q' | 's', value: number, dir = pool.dir) => writeFile(join(dir, metric), `${value}\n`);

/** The first decision since `since` that acted (ok) and matches. */
async function acted(what: string, match: (d: ScalingDecision) => boolean, since: number): Promise<ScalingDecision> {
  return waitFor(
    what,
    async () => (await pool.decisions()).find((d) => d.at >= since && d.result === 'ok' && match(d)),
    { timeoutMs: 90_000, everyMs: 250 },
  );
}

describe('scaling policies on a real local pool', () => {
  beforeAll(async () => {
    // The window opens at the next whole minute at least 20 s away (UTC), and stays 10 minutes.
    windowStart = Math.ceil((Date.now() + 20_000) / 60_000) * 60_000;
    const open = new Date(windowStart);
    const cron = `${open.getUTCMinutes()} ${open.getUTCHours()} * * *`;
    const started = await PolicyPool.start('policies', {
      bounds: { min: 1, max: 5 },
      before: async (dir) => {
        await write('q', 10, dir);
        await write('s', 3, dir);
      },
      cloud: (dir) => `metrics: {
        q: { file: ${JSON.stringify(join(dir, 'q'))}, every: '200ms' },
        s: { file: ${JSON.stringify(join(dir, 's'))}, every: '200ms' },
      },`,
      scaling: `target: { metric: 'q', value: 10, scaleInStabilization: '2s' },
        steps: [{ metric: 's', above: 5, add: 2 }, { metric: 's', below: 1, remove: '50%' }],
        schedule: [{ cron: '${cron}', timezone: 'UTC', min: 3, for: '10m' }],`,
    });
    pool = started.pool;
    expect(started.boot.code, started.boot.stderr).toBe(0);
  });

  afterAll(() => pool?.cleanup());

  it('schedule: when the window opens, min rises to 3 and the leader expands for it', {
    timeout: 180_000,
  }, async () => {
    const d = await acted('an expansion for the schedule window', (x) => x.policy === 'schedule', windowStart);
    expect(d).toMatchObject({ action: 'expand', reason: expect.stringMatching(/^below min: \d < 3$/) });
    await waitFor('3 alive', () => pool.settledAt(3), { timeoutMs: 90_000, everyMs: 250 });
    // Right after the pool grows the leader's lease counts the new members, so for a moment no
    // node reports leading: wait for the leader's own snapshot rather than reading it once.
    const leading = await waitFor('the leader’s /scaling', () => pool.leaderScaling(), {
      timeoutMs: 30_000,
      everyMs: 250,
    });
    expect(leading.bounds).toEqual({ min: 3, max: 5 });
  });

  it('target: the pool is sized by the ratio in one decision, up to max', { timeout: 180_000 }, async () => {
    const since = Date.now();
    // Members sample the file at their own moments, so the leader may first see one at 40 and two
    // at 10: even then (avg 20) 3 × 20 / 10 = 6 > max 5, so the decision is two at once.
    await write('q', 40);
    const d = await acted('an expansion by the target', (x) => x.policy === 'target', since);
    expect(d).toMatchObject({ action: 'expand', count: 2 });
    expect(d.reason).toMatch(/^avg\(q\) [\d.]+ vs target 10: 3 → \d+$/);
    expect(d.policies?.map((p) => p.policy)).toEqual(['target', 'steps', 'schedule']);
    await write('q', 10);
    await waitFor('5 alive', () => pool.settledAt(5), { timeoutMs: 90_000, everyMs: 250 });
  });

  it('steps: scale-in waits until every policy agrees, then goes by the most cautious', {
    timeout: 180_000,
  }, async () => {
    const since = Date.now();
    // The target asks for 0 once its 2 s scale-in window has passed, but the steps, with s between
    // their thresholds, hold 5: no contraction.
    await write('q', 0);
    const verdicts = await waitFor(
      "the leader's verdicts: target 0, steps holding 5",
      async () => {
        const s = await pool.leaderScaling();
        const want = (name: string) => s?.policies?.find((p) => p.policy === name)?.desired;
        return want('target') === 0 && want('steps') === 5 ? s?.policies : null;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    expect(verdicts.find((p) => p.policy === 'steps')?.why).toBe('avg(s) 3: no step applies');
    expect((await pool.decisions()).filter((x) => x.at >= since && x.action === 'contract')).toEqual([]);
    expect((await pool.running()).length).toBe(5);
    // Now the steps agree (remove 50 % of 5, rounded up: 3): the larger size, 2, wins over the
    // target's 0, and the schedule's min 3 bounds it to two instances.
    await write('s', 0);
    const d = await acted('a contraction by the steps', (x) => x.action === 'contract', since);
    expect(d).toMatchObject({ policy: 'steps', count: 2 });
    expect(d.reason).toMatch(/^avg\(s\) [\d.]+ below 1: remove 3$/);
    await waitFor('3 alive', () => pool.settledAt(3), { timeoutMs: 90_000, everyMs: 250 });
  });

  it('terminate leaves no agent process', { timeout: 60_000 }, async () => {
    const r = await pool.terminate();
    expect(r.code, r.stderr).toBe(0);
    await waitFor('no agent left', () => pool.agentsLeft() === 0, { timeoutMs: 10_000 });
  });
});
