import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leftoverChains, Partition, partitionUnavailable } from '../fixtures/partition.ts';
import { waitFor } from '../fixtures/wait.ts';
import { agentHealth, RSS_LIMIT_KB } from './agent-health.ts';
import { launchesDuring, nextAddresses, unsided } from './cut-sides.ts';
import { agreementByLog } from './leader-log.ts';
import { TwoCloudPool } from './two-cloud-pool.ts';

/**
 * A pool of two local clouds (web 3..4, worker 2..3) of real agents: the cloud that does NOT hold
 * the pool-wide leader loses an agent to kill -9, has one member cut off from everyone for 10 s
 * (shorter than replaceAfter, 20 s), and is asked by its own rule to grow and then to shrink — once
 * with the leader in one cloud, and again after kill -9 of the leader moved leadership into the
 * other (issue 15: only the leader's cloud used to be healed or scaled). Each time every cloud
 * must be healed and back within its bounds, the cut member kept, one leader within 5 s of the
 * heal by the agents' own logs (leader-log.ts; the poll's time is printed); never above either cloud's max, no id reused, agents with bounded RSS, and terminate
 * leaves nothing. Without iptables (CI, POOLPARTY_NO_PARTITIONS) the partition step is skipped.
 */

const BOUNDS = { web: { min: 3, max: 4 }, worker: { min: 2, max: 3 } };
const MINS = { web: 3, worker: 2 };
const CUT_MS = 10_000;
const skipCut = partitionUnavailable();
if (skipCut) console.warn(`two-clouds: partition step skipped: ${skipCut}`);

describe('a pool of two clouds under faults, the leader in either (real agents)', () => {
  let pool: TwoCloudPool;
  let cut: Partition | undefined;
  const report: Record<string, unknown>[] = [];

  const healed = (what: string, want: Record<string, number> = MINS) =>
    waitFor(what, () => pool.settled(want), { timeoutMs: 120_000, everyMs: 500 }).catch(async (err: Error) => {
      const live = (await pool.live()).map((i) => `${i.cloud}/${i.id}:${i.state}`);
      throw new Error(`${err.message}\nlive ${live.join(' ')}\nleader ${JSON.stringify(await pool.agreedLeader())}`);
    });
  const leader = () => waitFor('one leader', () => pool.agreedLeader(), { timeoutMs: 60_000, everyMs: 250 });
  const other = (cloud: string) => pool.clouds.find((c) => c !== cloud) as string;

  beforeAll(async () => {
    pool = await TwoCloudPool.create('twoclouds', BOUNDS);
    if (!skipCut) cut = new Partition();
    await pool.bootstrapAll(120);
    await healed('both clouds at min');
  }, 300_000);

  afterAll(async () => {
    console.info(`two-clouds: ${JSON.stringify(report)}`);
    cut?.dispose();
    await pool?.cleanup();
    if (cut) expect(leftoverChains()).not.toContain(cut.chain);
  }, 150_000);

  /** The faults on the cloud without the leader; asserts as it goes, returns what it saw. */
  async function faultTheOtherCloud(): Promise<void> {
    const lead = await leader();
    const target = other(lead.cloud);
    const step: Record<string, unknown> = { leaderCloud: lead.cloud, leader: lead.instanceId, target };
    report.push(step);

    // kill -9 of an agent of the other cloud: that cloud is healed by the leader's scaler for it.
    const [victim] = await pool.live(target);
    if (!victim) throw new Error(`no instance in ${target}`);
    const killedAt = Date.now();
    await pool.kill(victim.id);
    await healed(`${target} healed after ${victim.id} was killed`);
    step.killed = victim.id;
    step.healedAfterMs = Date.now() - killedAt;
    expect((await pool.live()).map((i) => i.id)).not.toContain(victim.id);

    // One member of the other cloud cut off from everyone for less than replaceAfter: kept.
    if (cut) {
      const live = await pool.live();
      const alone = live.find((i) => i.cloud === target) as (typeof live)[number];
      const rest = live.filter((i) => i.id !== alone.id);
      // The addresses each cloud's provider hands out next go with the rest (cut-sides.ts).
      const all = await pool.listAll();
      const spare = (await Promise.all(pool.clouds.map((c) => nextAddresses(all.filter((i) => i.cloud === c))))).flat();
      const sides: [string[], string[]] = [[alone.address], [...rest.map((i) => i.address), ...spare]];
      const cutAt = Date.now();
      cut.cut(...sides);
      // The partition's length is the fault being injected, not a wait for an outcome.
      await new Promise((r) => setTimeout(r, CUT_MS));
      cut.heal();
      const healAt = Date.now();
      const launched = launchesDuring(await pool.listAll(), sides, cutAt, healAt);
      step.launchedInCut = launched;
      expect(unsided(launched), 'launched during the cut on neither side of it').toEqual([]);
      const after = await leader();
      // Printed: the poll of the monitors, whose answers lag their agents by seconds under load.
      step.agreeMs = Date.now() - healAt;
      step.cut = alone.id;
      // Asserted: one leader within 5 s of the heal by the agents' own logs (leader-log.ts).
      const byLog = await agreementByLog(live, healAt);
      step.settledMs = byLog.ms;
      step.following = byLog.agents;
      expect(byLog.leader, `one leader by the agents' logs: ${byLog.agents.join(', ')}`).not.toBeNull();
      expect(byLog.ms as number, 'one leader after the heal by the agents’ logs (ms)').toBeLessThanOrEqual(5000);
      expect(after.instanceId, 'the leader kept its place').toBe(lead.instanceId);
      await healed('every cloud back within bounds after the heal');
      const now = (await pool.live()).map((i) => i.id).sort();
      expect(now, 'no instance lost to a partition shorter than replaceAfter').toEqual(live.map((i) => i.id).sort());
    }

    // The other cloud's own rules act too: it grows to its max and shrinks back, the leader's stays.
    await pool.setQueue(target, 50);
    await healed(`${target} grown to max`, {
      [target]: BOUNDS[target as keyof typeof BOUNDS].max,
      [lead.cloud]: MINS[lead.cloud as keyof typeof MINS],
    });
    await pool.setQueue(target, 0);
    await healed(`${target} back to min`);
    await pool.setQueue(target, 5);
  }

  it('the cloud without the leader is healed, kept through a short partition and scaled', async () => {
    await faultTheOtherCloud();
  }, 600_000);

  it('after kill -9 moves leadership into the other cloud, the first cloud is healed and scaled', async () => {
    const first = (await leader()).cloud;
    // The oldest live member leads: killing the leader until one of the other cloud is oldest.
    for (let n = 0; n < 6 && (await leader()).cloud === first; n++) {
      await pool.kill((await leader()).instanceId);
      await healed(`healed after leader kill ${n + 1}`);
    }
    expect((await leader()).cloud, 'leadership moved to the other cloud').toBe(other(first));
    await faultTheOtherCloud();
  }, 600_000);

  it('never above max, no id reused, agents up with bounded RSS; terminate leaves nothing', async () => {
    for (const [cloud, { max }] of Object.entries(BOUNDS)) {
      expect(pool.maxSeen.get(cloud), `most ${cloud} instances ever listed`).toBeLessThanOrEqual(max);
    }
    expect([...pool.reused], 'instance ids reused').toEqual([]);
    const agents = await agentHealth(await pool.live());
    console.info(`two-clouds agents: ${JSON.stringify(agents)}`);
    for (const a of agents) {
      expect(a.up, `${a.id} answers /health`).toBe(true);
      expect(a.rssKb, `${a.id} RSS kB`).toBeLessThan(RSS_LIMIT_KB);
    }
    const run = await pool.cli(['terminate', '--yes', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(await pool.live()).toEqual([]);
  }, 180_000);
});
