import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultPool } from '../fixtures/fault-pool.ts';
import type { Partition } from '../fixtures/partition.ts';
import { waitFor } from '../fixtures/wait.ts';
import { actedByLog, actingRuns, interleaving } from './acting-order.ts';
import { launchesDuring, nextAddresses, unsided } from './cut-sides.ts';
import { agreementByLog, keepLogs } from './leader-log.ts';

/** What one partition case observed (the test file asserts on it and prints it). */
export interface PartitionReport {
  minorityIds: string[];
  majorityIds: string[];
  leaderBefore: string;
  /** Instances live at the cut that were gone after the heal. */
  lost: string[];
  /** Of those, the ones that went before replaceAfter of partition had passed. */
  early: string[];
  /**
   * From the heal until every agent live at the cut (and still live) named the same leader to
   * the test's poll of their monitors (ms); null if not within 20 s. On a loaded host a monitor's
   * answer lags its agent by seconds: a figure of the host as much as of the election.
   */
  agreeMs: number | null;
  /**
   * The same by the agents' own logs, read once the pool settled (leader-log.ts): from the heal
   * until the last of them began to follow the one leader they all follow (ms; 0 if all already
   * did); null when they do not all follow one leader. The issue's "one leader within 5 s of heal".
   */
  settledMs: number | null;
  /** Whom each agent follows by its log ("id→peer@term +ms from the heal"). */
  following: string[];
  leaderAfter: string | null;
  /** Live instances after the heal settled, and whether every agent saw them all alive. */
  liveAfter: number;
  boundsOk: boolean;
  /** Expansions that succeeded while cut. */
  expandsDuringCut: number;
  /** Instances launched while cut whose address the cut left on neither side (they relay across it). */
  unsided: string[];
  /** Every instance launched while cut, `id@address:side` (a replacement may get a cut-off address back). */
  launchedInCut: string[];
  maxSeen: number;
  /**
   * Who acted on the provider from 5 s before the cut to the end of the case, each agent's run
   * relative to the cut (acting-order.ts), and the first A, B, A breach of one acting leader at a
   * time (null: none).
   */
  acting: string[];
  interleaved: string | null;
}

/**
 * One partition: waits for a settled pool of `min` with one leader, asks for growth, cuts the
 * leader and `minority - 1` others off from the rest for `ms`, heals, and measures. Afterwards it
 * brings the pool back to `min` (the metric asks for less, then for nothing) for the next case.
 */
export async function partitionCase(
  pool: FaultPool,
  cut: Partition,
  c: { minority: number; ms: number; replaceAfter: number },
): Promise<PartitionReport> {
  const { min, max } = pool.opts;
  await pool.setQueue(0);
  await waitFor(`${min} alive`, () => pool.converged(min), { timeoutMs: 120_000, everyMs: 500 });
  await pool.setQueue(5);
  const leader = await waitFor('one leader', () => pool.agreedLeader(), { timeoutMs: 60_000 });
  const live = (await pool.live()).sort((a, b) => a.id.localeCompare(b.id));
  const others = live.filter((i) => i.id !== leader.instanceId);
  const minority = [live.find((i) => i.id === leader.instanceId), ...others.slice(0, c.minority - 1)].filter(
    (i) => i !== undefined,
  );
  const majority = live.filter((i) => !minority.includes(i));
  const addr = (xs: typeof live) => xs.map((i) => i.address);

  // The addresses the next launches will get go with the majority (cut-sides.ts): the minority
  // leader launches in its last second of lease, as the metric rises just before the cut.
  const spare = await nextAddresses(await pool.listAll());
  const sides: [string[], string[]] = [addr(minority), [...addr(majority), ...spare]];
  await pool.setQueue(50);
  const cutAt = Date.now();
  cut.cut(...sides);
  // The partition's length is the fault being injected, not a wait for an outcome.
  await sleep(c.ms);
  cut.heal();
  const healAt = Date.now();

  // The agents that lived through the cut must agree. One the majority launched meanwhile is no
  // side of the partition: on a loaded machine it may still be starting, with no /leader yet.
  const through = new Set(live.map((i) => i.id));
  const agreed = await waitFor(
    'one leader after the heal',
    async () => {
      const answers = [...(await pool.leaders())].filter(([id]) => through.has(id));
      const peers = new Set(answers.map(([, l]) => l?.peerId ?? null));
      const [only] = [...peers];
      if (answers.length === 0 || peers.size !== 1 || !only) return null;
      const instanceId = await pool.instanceOfPeer(only);
      return instanceId ? { instanceId } : null;
    },
    { timeoutMs: 20_000 },
  ).catch(() => null);
  const agreeMs = agreed && Date.now() - healAt;
  const leaderAfter = agreed?.instanceId ?? null;

  // Settled: the count within bounds and every agent seeing every live one alive.
  let boundsOk = false;
  try {
    await waitFor(
      'the pool within bounds',
      async () => {
        const n = (await pool.live()).length;
        return n >= min && n <= max && (await pool.converged(n));
      },
      { timeoutMs: 90_000, everyMs: 500 },
    );
    boundsOk = true;
  } catch {
    boundsOk = false;
  }
  const after = new Set((await pool.live()).map((i) => i.id));
  const lost = live.map((i) => i.id).filter((id) => !after.has(id));
  const byLog = await agreementByLog(
    live.filter((i) => after.has(i.id)),
    healAt,
  );
  const early = lost.filter((id) => (pool.lastLive.get(id) ?? 0) - cutAt < c.replaceAfter);
  // POOLPARTY_KEEP_LOGS: every agent's log of the case (who ended a lost instance, and why).
  const logged = [...live, ...(await pool.live()).filter((i) => !through.has(i.id))];
  const meta = { cutAt, healAt, minority: minority.map((i) => i.id), lost, early };
  await keepLogs(logged, meta, `${c.minority}+${live.length - c.minority}-${c.ms / 1000}s`);
  const acted = await actedByLog(logged, cutAt - 5_000);
  const expands = (await pool.decisions()).filter(
    (d) => d.action === 'expand' && d.result === 'ok' && d.at >= cutAt && d.at <= healAt,
  );
  const launched = launchesDuring(await pool.listAll(), sides, cutAt, healAt);
  const side = ['minority', 'majority'];
  return {
    minorityIds: minority.map((i) => i.id),
    majorityIds: majority.map((i) => i.id),
    leaderBefore: leader.instanceId,
    lost,
    early,
    agreeMs,
    settledMs: byLog.ms,
    following: byLog.agents,
    leaderAfter,
    liveAfter: after.size,
    boundsOk,
    expandsDuringCut: expands.length,
    unsided: unsided(launched),
    launchedInCut: launched.map((l) => `${l.id}@${l.address}:${l.side === null ? 'neither' : side[l.side]}`),
    maxSeen: pool.maxSeen,
    acting: actingRuns(acted, cutAt),
    interleaved: interleaving(acted, cutAt),
  };
}
