import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { LocalInstanceRecord } from '../../shared/remoter/local.ts';
import type { FaultPool } from '../fixtures/fault-pool.ts';
import { partitionUnavailable } from '../fixtures/partition.ts';
import { waitFor } from '../fixtures/wait.ts';
import { launchesDuring, nextAddresses, unsided } from './cut-sides.ts';
import { agreementByLog, keepLogs } from './leader-log.ts';
import { partitionSuite, terminateLeavesNothing } from './partition-suite.ts';

/**
 * "One leader within 5 s of heal" (issue 15), on real agents: a 5-agent pool cut 2+3 (the leader
 * on the minority side) for HEAL_CUT_S seconds (default 30: each side has reaped the other by
 * then, as after 120 s), with replaceAfter far longer so no machine is touched. After the heal
 * every agent must name one leader, the majority's, and no agent may claim a term: the majority's
 * leader holds its lease and keeps leading, the minority's yields to its higher term. The time to
 * one leader is a figure, printed, not asserted (timing targets are measured, not asserted: on a
 * shared host the monitors' answers to the poll lag the agents by seconds — agreeMs 7.0–7.2 s
 * against settledMs 3.8–4.7 s by the agents' own logs, load 50–80, 2026-12-06). It prints both and
 * the leadership and membership events of the heal (who claimed or followed whom and by which
 * rule, who saw whom dead or suspect), the timeline that says where the time went.
 */

const CUT_S = Number(process.env.HEAL_CUT_S ?? 30);
const skip = partitionUnavailable();
if (skip) console.warn(`fault suite: heal skipped: ${skip}`);

interface Line {
  id: string;
  at: number;
  msg: string;
  fields: Record<string, unknown>;
}

/** Leadership and membership events of every agent's log from `since` on, oldest first. */
async function timeline(live: LocalInstanceRecord[], since: number): Promise<Line[]> {
  const out: Line[] = [];
  for (const i of live) {
    for (const text of (await readFile(i.logFile, 'utf8').catch(() => '')).split('\n')) {
      if (!/"(leader|member)-/.test(text)) continue;
      const f = JSON.parse(text) as Record<string, unknown>;
      const msg = String(f.msg ?? f.type ?? '');
      const at = Number(f.at ?? Date.parse(String(f.time ?? '')));
      if (at >= since && /^(leader|member)-/.test(msg)) out.push({ id: i.id, at, msg, fields: f });
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

/**
 * Samples `monitor`'s poolparty_lease_held every 250 ms until `stop()`: when it held the lease,
 * stamped when each request was sent (the agent read its gauge then or later; a loaded monitor
 * answers late, and a sample stamped at the answer once put a lease 0.7 s after it ended).
 */
function leaseWatch(monitor: string): { held: number[]; stop: () => Promise<void> } {
  const held: number[] = [];
  let on = true;
  const done = (async () => {
    while (on) {
      const asked = Date.now();
      const text = await fetch(`${monitor}/metrics`, { signal: AbortSignal.timeout(1000) })
        .then((r) => r.text())
        .catch(() => '');
      if (/^poolparty_lease_held 1$/m.test(text)) held.push(asked);
      await sleep(250);
    }
  })();
  return {
    held,
    stop: async () => {
      on = false;
      await done;
    },
  };
}

/** The one leader every agent of `ids` names, as an instance id, or null. */
async function agreed(pool: FaultPool, ids: Set<string>): Promise<string | null> {
  const answers = [...(await pool.leaders())].filter(([id]) => ids.has(id));
  const peers = new Set(answers.map(([, l]) => l?.peerId ?? null));
  const [only] = [...peers];
  if (answers.length !== ids.size || peers.size !== 1 || !only) return null;
  return (await pool.instanceOfPeer(only)) ?? null;
}

describe.skipIf(skip !== null)(`heal after a ${CUT_S} s 2+3 partition (real agents)`, () => {
  const suite = partitionSuite({ name: 'heal', min: 5, max: 6, agent: ["replaceAfter: '300s'"] });

  it('one leader after the heal, the majority’s, and no agent claims a term after it (time printed)', async () => {
    const pool = suite.pool();
    await waitFor('5 alive', () => pool.converged(5), { timeoutMs: 120_000, everyMs: 500 });
    const leader = await waitFor('one leader', () => pool.agreedLeader(), { timeoutMs: 60_000 });
    const live = (await pool.live()).sort((a, b) => a.id.localeCompare(b.id));
    const minority = [
      ...live.filter((i) => i.id === leader.instanceId),
      ...live.filter((i) => i.id !== leader.instanceId).slice(0, 1),
    ];
    const majority = live.filter((i) => !minority.includes(i));
    // The next addresses the provider hands out go with the majority (cut-sides.ts): nothing asks
    // for a launch here, but one on neither side would make the cut no partition.
    const spare = await nextAddresses(await pool.listAll());
    const sides: [string[], string[]] = [minority.map((i) => i.address), [...majority.map((i) => i.address), ...spare]];
    const cutStart = Date.now();
    suite.cut().cut(...sides);
    // The rules are in effect once cut() returns: at load 20 the iptables calls took 1.6 s, and the
    // cut-off leader's lease rightly lasted leaseTimeout from there, not from their start.
    const cutAt = Date.now();
    // The leader cut off with the minority must never hold its quorum lease, during the cut or after.
    const lease = leaseWatch(minority[0]?.monitor ?? '');
    // The partition's length is the fault being injected, not a wait for an outcome.
    await sleep(CUT_S * 1000);
    const majorityLeader = await agreed(pool, new Set(majority.map((i) => i.id)));
    suite.cut().heal();
    const healAt = Date.now();
    const launched = launchesDuring(await pool.listAll(), sides, cutStart, healAt);
    const ids = new Set(live.map((i) => i.id));
    const after = await waitFor('one leader after the heal', () => agreed(pool, ids), {
      timeoutMs: 20_000,
      everyMs: 50,
    });
    const agreeMs = Date.now() - healAt;
    await lease.stop();
    await waitFor('every member sees every other alive', () => pool.converged(5), { timeoutMs: 60_000 });
    // Leadership since the cut (what each side did meanwhile), membership since the heal.
    const events = (await timeline(live, cutStart)).filter((e) => e.msg.startsWith('leader-') || e.at >= healAt - 200);
    const shown = events.map((e) => {
      const { level: _l, msg: _m, at: _a, time: _t, type: _y, ...rest } = e.fields;
      return `+${e.at - healAt} ${e.id} ${e.msg} ${JSON.stringify(rest)}`;
    });
    const claims = events.filter((e) => e.at >= healAt && e.msg === 'leader-elected' && e.fields.self === true);
    // When the last agent began to follow the leader they all follow now (its own log): the
    // election's share, apart from how fast the monitors answer the test's polls on a busy host.
    const byLog = await agreementByLog(live, healAt);
    const settledMs = byLog.ms;
    await keepLogs(live, { cutAt, healAt, minority: minority.map((i) => i.id) });
    // Issue 15: the minority's deaths of the majority arrive at the heal; a majority member that
    // heard from another itself moments ago holds them back (membership/swim/peer-view.ts). Shown,
    // not asserted: on real agents it happened in 1 of 6 runs before the sync binding gate
    // (c35ce58), in none of 23 since (2026-12-06); POOLPARTY_KEEP_LOGS keeps the logs to trace it.
    const side = new Set(majority.map((i) => i.id));
    const doubted = events
      .filter(
        (e) =>
          e.at >= healAt &&
          side.has(e.id) &&
          ((e.msg === 'member-dead' && side.has(String(e.fields.instanceId))) || e.msg === 'leader-lost'),
      )
      .map((e) => `+${e.at - healAt} ${e.id} ${e.msg} ${e.fields.instanceId ?? ''}`.trim());
    // The cut-off leader's lease runs out leaseTimeout (3 × loadInterval, 1.5 s) after the cut.
    const leaseInCut = lease.held.filter((t) => t > cutAt + 3000);
    console.info(
      `heal ${CUT_S}s 2+3: ${JSON.stringify({ agreeMs, settledMs, minority: minority.map((i) => i.id), leaderBefore: leader.instanceId, majorityLeader, leaderAfter: after, minorityLeaseAt: leaseInCut.map((t) => t - healAt), majorityDoubted: doubted, launchedInCut: launched })}\n${shown.join('\n')}`,
    );

    expect(
      leaseInCut.map((t) => t - healAt),
      'when the minority leader held its lease (ms from the heal)',
    ).toEqual([]);
    expect(unsided(launched), 'launched during the cut on neither side of it').toEqual([]);
    expect(after, 'the majority side keeps its leader').toBe(majorityLeader);
    expect(byLog.leader, `one leader by the agents' logs: ${byLog.agents.join(', ')}`).not.toBeNull();
    expect(
      claims.map((c) => `${c.id}@${c.fields.term}`),
      'terms claimed after the heal',
    ).toEqual([]);
  });

  terminateLeavesNothing(suite);
});
