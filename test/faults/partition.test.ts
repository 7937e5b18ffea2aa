import { describe, expect, it } from 'vitest';
import { partitionUnavailable } from '../fixtures/partition.ts';
import { agentHealth, RSS_LIMIT_KB } from './agent-health.ts';
import { partitionCase } from './partition-case.ts';
import { partitionSuite, terminateLeavesNothing } from './partition-suite.ts';

/**
 * Partitions of a real 5-agent pool (min 5, max 6) while the metric asks for growth: 2+3 and 1+4,
 * each for 10 s (shorter than replaceAfter, 20 s here) and for 30, 45 and 120 s (longer), the
 * leader always on the minority side. Asserted on every case: the provider never lists more than max (sampled every
 * 100 ms), no instance id is reused, no instance is terminated before replaceAfter of partition
 * (none at all in the short cases), all agents agree on one leader after the heal (within 20 s
 * by the poll, printed as `agreeMs`, and by their own logs, printed as `settledMs`: the 5 s target
 * measured, not asserted here; the monitors' answers to the poll lag the agents by seconds on a
 * shared host — 2+3 for 120 s took 5.8 s by the poll at load ~60, 2026-12-06), the pool is back within its bounds, and every agent answers /health with bounded RSS.
 * And by the agents' logs, one acting leader at a time: once the majority's new leader acted, the
 * cut-off one never acts again (before the wait-out, in 2+3 for 10 s the cut-off leader still
 * expanded 15 ms after the new one first acted: BENCHMARKS, session 20).
 */

const skip = partitionUnavailable();
if (skip) console.warn(`fault suite: partitions skipped: ${skip}`);

describe.skipIf(skip !== null)('partitions under expansion pressure (real agents, iptables on lo)', () => {
  const suite = partitionSuite({ name: 'part', min: 5, max: 6 });

  // The 1+4 cases once lost the isolated instance (a reaped member taken for one that never
  // joined) and agreed on a leader only after 12 s; both were fixed on 2026-12-05 (the scaler's
  // lease-held evidence rule, the sync that tells a member it is dead elsewhere). 1+4 for 30 s
  // still missed the 5 s agreement in one of two runs that day.
  // 45 s and 120 s outlast replaceAfter (20 s here): the minority's instances may be replaced
  // then, the majority's never, and the pool must come back within bounds with one leader.
  const cases: [minority: 1 | 2, seconds: number, knownBug: boolean][] = [
    [2, 10, false],
    [1, 10, false],
    [2, 30, false],
    [1, 30, false],
    [2, 45, false],
    [1, 45, false],
    [2, 120, false],
    [1, 120, false],
  ];
  for (const [minority, seconds, knownBug] of cases) {
    (knownBug ? it.fails : it)(`${minority}+${5 - minority} for ${seconds} s`, async () => {
      const pool = suite.pool();
      const report = await partitionCase(pool, suite.cut(), { minority, ms: seconds * 1000, replaceAfter: 20_000 });
      console.info(`partition ${minority}+${5 - minority} ${seconds}s: ${JSON.stringify(report)}`);
      expect(pool.maxSeen, 'most instances ever listed').toBeLessThanOrEqual(6);
      expect([...pool.reused], 'instance ids reused').toEqual([]);
      expect(report.unsided, 'launched during the cut on neither side of it').toEqual([]);
      // Issue 15, I1/I3: the new leader waits out the old lease, so their actions never interleave.
      expect(report.interleaved, `one acting leader at a time: ${report.acting.join('; ')}`).toBeNull();
      expect(report.early, 'terminated before replaceAfter of partition').toEqual([]);
      if (seconds * 1000 < 20_000) expect(report.lost, 'healthy instances lost to a short partition').toEqual([]);
      // Only the minority's instances may go, and only in a partition longer than replaceAfter.
      expect(report.lost.filter((id) => !report.minorityIds.includes(id))).toEqual([]);
      expect(report.agreeMs, 'one leader after the heal (ms)').not.toBeNull();
      expect(report.settledMs, `one leader by the agents' logs: ${report.following.join(', ')}`).not.toBeNull();
      expect(report.boundsOk, 'back within bounds').toBe(true);
      const agents = await agentHealth(await pool.live());
      for (const a of agents) {
        expect(a.up, `${a.id} answers /health (${JSON.stringify(agents)})`).toBe(true);
        expect(a.rssKb, `${a.id} RSS kB`).toBeLessThan(RSS_LIMIT_KB);
      }
    });
  }

  terminateLeavesNothing(suite);
});
