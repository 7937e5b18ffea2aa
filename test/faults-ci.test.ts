import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentHealth, RSS_LIMIT_KB } from './faults/agent-health.ts';
import { killDuringLaunch } from './faults/kill-launch-case.ts';
import { partitionCase } from './faults/partition-case.ts';
import { FaultPool } from './fixtures/fault-pool.ts';
import { Partition, partitionUnavailable } from './fixtures/partition.ts';

/**
 * The fault suite's bounded sample for `npm test` (the whole suite: `npm run test:faults`): one
 * real 5-agent pool (min 5, max 6) cut 2+3 for 10 s under expansion pressure (one leader within
 * 5 s of the heal by the agents' own logs, the poll's time printed; its agents then up with
 * bounded RSS), then its leader killed between spawn and record of a launch. About a minute
 * and a half on an idle machine.
 */

const skipPartition = partitionUnavailable();
if (skipPartition) console.warn(`faults-ci: partition case skipped: ${skipPartition}`);

describe('fault sample (real agents)', () => {
  let pool: FaultPool;
  let cut: Partition | undefined;

  beforeAll(async () => {
    pool = await FaultPool.create({ name: 'faultci', min: 5, max: 6 });
    if (!skipPartition) cut = new Partition();
    await pool.bootstrap();
    pool.startSampler();
  }, 150_000);

  afterAll(async () => {
    cut?.dispose();
    await pool?.cleanup();
  }, 120_000);

  it.skipIf(skipPartition !== null)(
    '2+3 for 10 s: never above max, no healthy instance lost, one acting leader at a time, one leader within 5 s of heal',
    async () => {
      const r = await partitionCase(pool, cut as Partition, { minority: 2, ms: 10_000, replaceAfter: 20_000 });
      expect(pool.maxSeen).toBeLessThanOrEqual(6);
      expect([...pool.reused]).toEqual([]);
      expect(r.lost, JSON.stringify(r)).toEqual([]);
      console.info(`faults-ci 2+3 10s: ${JSON.stringify(r)}`);
      // The new leader waited out the old lease: their actions never interleave (acting-order.ts).
      expect(r.interleaved, r.acting.join('; ')).toBeNull();
      // One leader after the heal by the poll (within 20 s), and within 5 s by the agents' own
      // logs: the monitors' answers to the poll lag their agents by 2.5–3.5 s at load 50–80.
      expect(r.agreeMs, JSON.stringify(r)).not.toBeNull();
      expect(r.settledMs, `one leader by the agents' logs: ${JSON.stringify(r)}`).not.toBeNull();
      expect(r.settledMs as number, JSON.stringify(r)).toBeLessThanOrEqual(5000);
      expect(r.boundsOk, JSON.stringify(r)).toBe(true);
      for (const a of await agentHealth(await pool.live())) {
        expect(a.up, `${a.id} answers /health`).toBe(true);
        expect(a.rssKb, `${a.id} RSS kB`).toBeLessThan(RSS_LIMIT_KB);
      }
    },
    180_000,
  );

  it('the leader killed between spawn and record: never above max, no leaked agent', async () => {
    const r = await killDuringLaunch(pool, 'after-spawn');
    expect(r.died, JSON.stringify(r)).toBe(true);
    expect(r.settled, JSON.stringify(r)).toBe(true);
    expect(r.oneAgentPerRecord, JSON.stringify(r)).toBe(true);
    expect(pool.maxSeen).toBeLessThanOrEqual(6);
    expect([...pool.reused]).toEqual([]);
    const { run, pids, listed } = await pool.terminate();
    expect(run.code, run.stderr).toBe(0);
    expect(pids).toEqual([]);
    expect(listed).toEqual([]);
  }, 240_000);
});
