import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { partitionUnavailable } from '../fixtures/partition.ts';
import { waitFor } from '../fixtures/wait.ts';
import { agentHealth, RSS_LIMIT_KB } from './agent-health.ts';
import { partitionSuite, terminateLeavesNothing } from './partition-suite.ts';

/**
 * "A partition shorter than replaceAfter costs no machine" (invariant I2), at the length the
 * issue names: a real 5-agent pool (min 5, max 6, replaceAfter 180 s) cut 2+3 for 120 s, the
 * leader on the minority side, with the metric asking for neither growth nor shrinkage. Both
 * sides declare the other dead meanwhile; after the heal the provider must list exactly the five
 * instances it listed before (none launched, none terminated, even for a moment), no leader may
 * have decided to expand, replace or contract, and every member must see every other alive under
 * one leader. partition.test.ts covers partitions longer than replaceAfter under expansion.
 */

const REPLACE_AFTER_S = 180;
const CUT_S = 120;

const skip = partitionUnavailable();
if (skip) console.warn(`fault suite: long partition skipped: ${skip}`);

describe.skipIf(skip !== null)(`a ${CUT_S} s partition, replaceAfter ${REPLACE_AFTER_S} s (real agents)`, () => {
  // The fixture's agent block lists replaceAfter: '20s' first; a later key of an object literal wins.
  const suite = partitionSuite({ name: 'longcut', min: 5, max: 6, agent: [`replaceAfter: '${REPLACE_AFTER_S}s'`] });

  it(`2+3 for ${CUT_S} s costs no machine: nothing launched or terminated, every member alive after`, async () => {
    const pool = suite.pool();
    const cut = suite.cut();
    await waitFor('5 alive', () => pool.converged(5), { timeoutMs: 120_000, everyMs: 500 });
    const leader = await waitFor('one leader', () => pool.agreedLeader(), { timeoutMs: 60_000 });
    const before = (await pool.live()).map((i) => `${i.id}@${i.launchedAt}`).sort();
    const live = (await pool.live()).sort((a, b) => a.id.localeCompare(b.id));
    const minority = live.filter((i) => i.id === leader.instanceId);
    minority.push(...live.filter((i) => i.id !== leader.instanceId).slice(0, 1));
    const majority = live.filter((i) => !minority.includes(i));

    const cutAt = Date.now();
    cut.cut(
      minority.map((i) => i.address),
      majority.map((i) => i.address),
    );
    // The partition's length is the fault being injected, not a wait for an outcome.
    await sleep(CUT_S * 1000);
    cut.heal();
    const healAt = Date.now();

    // One leader is required; how soon is printed, not asserted: after 120 s each side has reaped
    // the other (reapAfter 4 s) and agreement waits for the members to find each other again,
    // 4.6 s and 7.0 s in two runs on a shared machine (1-min load 10 and 25) against the 5 s
    // the short cases of partition.test.ts assert; 5.4 s (load 12-16) once lost members are
    // retried every 2 s for 10 minutes (1aa2084): finding each other is not what takes the time
    // at 120 s, as the members were still retried every 2 s at the heal.
    const agreed = await waitFor('one leader after the heal', () => pool.agreedLeader(), { timeoutMs: 20_000 });
    const agreeMs = Date.now() - healAt;
    await waitFor('every member sees every other alive', () => pool.converged(5), {
      timeoutMs: 60_000,
      everyMs: 500,
    });
    const after = (await pool.live()).map((i) => `${i.id}@${i.launchedAt}`).sort();
    const acted = (await pool.decisions()).filter((d) => d.at >= cutAt && d.action !== 'none');
    const report = {
      minority: minority.map((i) => i.id),
      leaderBefore: leader.instanceId,
      leaderAfter: agreed.instanceId,
      agreeMs,
      before,
      after,
      everListed: [...pool.launchOf.keys()].sort(),
      maxSeen: pool.maxSeen,
      acted,
    };
    console.info(`partition 2+3 ${CUT_S}s, replaceAfter ${REPLACE_AFTER_S}s: ${JSON.stringify(report)}`);

    expect(after, 'the provider lists the same five instances').toEqual(before);
    expect(report.everListed, 'no instance launched, even for a moment').toEqual(before.map((s) => s.split('@')[0]));
    expect(pool.maxSeen, 'most instances ever listed').toBe(5);
    expect(acted, 'no expand, replace or contract decided since the cut').toEqual([]);
    for (const a of await agentHealth(await pool.live())) {
      expect(a.up, `${a.id} answers /health`).toBe(true);
      expect(a.rssKb, `${a.id} RSS kB`).toBeLessThan(RSS_LIMIT_KB);
    }
  });

  terminateLeavesNothing(suite);
});
