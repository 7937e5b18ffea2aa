import { setTimeout as sleep } from 'node:timers/promises';
import { processRuns } from '../../shared/remoter/pid.ts';
import type { FaultPool } from '../fixtures/fault-pool.ts';
import { waitFor } from '../fixtures/wait.ts';

/** Where the leader dies: a crash point of the local launch, or a SIGKILL at a random moment. */
export type KillPoint = 'before-record' | 'after-record' | 'after-spawn' | 'random';

export interface KillRound {
  point: KillPoint;
  leader: string;
  /** The leader's process was gone within 30 s of the metric asking for growth. */
  died: boolean;
  /** ms after the metric rose (random rounds: when the test killed it). */
  killedAfterMs: number;
  /** After settling: live records, agent processes, and whether each record has its one process. */
  live: string[];
  agents: number;
  oneAgentPerRecord: boolean;
  settled: boolean;
  /** When records and processes disagree: each record (id state pid) and each agent (pid id). */
  mismatch?: { records: string[]; agents: string[] };
}

/**
 * One round: a settled pool with one leader, the leader armed to die at `point` of its next
 * launch (or killed at a random moment of the growth), the metric asking for growth; then the
 * metric goes neutral and the pool must settle — every live record backed by exactly one agent
 * process, every agent process named by a record — and is contracted back to `min`.
 */
export async function killDuringLaunch(pool: FaultPool, point: KillPoint): Promise<KillRound> {
  const { min, max } = pool.opts;
  await pool.setQueue(0);
  await waitFor(`${min} alive`, () => pool.converged(min), { timeoutMs: 120_000, everyMs: 500 });
  await pool.setQueue(5);
  const leader = await waitFor('one leader', () => pool.agreedLeader(), { timeoutMs: 60_000 });
  const rec = (await pool.live()).find((i) => i.id === leader.instanceId);
  const pid = rec?.pid;
  if (!pid) throw new Error(`no pid for the leader ${leader.instanceId}`);
  if (point !== 'random') await pool.arm(leader.instanceId, point);
  const rose = Date.now();
  await pool.setQueue(50);
  let killedAfterMs = 0;
  if (point === 'random') {
    // The fault itself, not a wait for an outcome: a kill at a random moment of the growth (the
    // expand rule holds after 1 s, the launch follows within the scaler's interval).
    await sleep(800 + Math.floor(Math.random() * 1700));
    killedAfterMs = Date.now() - rose;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  let died = false;
  try {
    await waitFor('the leader gone', () => !processRuns(pid), { timeoutMs: 30_000, everyMs: 20 });
    died = true;
    if (point !== 'random') killedAfterMs = Date.now() - rose;
  } catch {
    died = false;
  }
  await pool.arm(leader.instanceId, undefined);
  await pool.setQueue(5);
  let settled = false;
  try {
    await waitFor(
      'the pool settled within bounds',
      async () => {
        // A 'pending' record is a launch not settled yet: a new leader adopts or clears it when it
        // takes over, which can be seconds after the survivors already see each other.
        const live = await pool.live();
        const n = live.length;
        if (n < min || n > max || live.some((i) => i.state === 'pending')) return false;
        const agreed = await pool.agreedLeader();
        return agreed !== null && live.some((i) => i.id === agreed.instanceId) && (await pool.converged(n));
      },
      { timeoutMs: 120_000, everyMs: 500 },
    );
    settled = true;
  } catch {
    settled = false;
  }
  const live = await pool.live();
  const agents = pool.agentPids();
  const pids = live.map((i) => i.pid).sort();
  const oneAgentPerRecord = JSON.stringify(pids) === JSON.stringify([...agents].sort());
  return {
    point,
    leader: leader.instanceId,
    died,
    killedAfterMs,
    live: live.map((i) => i.id),
    agents: agents.length,
    oneAgentPerRecord,
    settled,
    ...(oneAgentPerRecord
      ? {}
      : {
          mismatch: {
            records: (await pool.listAll()).map((i) => `${i.id} ${i.state} ${i.pid ?? '-'}`),
            agents: agents.map((p) => `${p} ${pool.instanceOfPid(p)}`),
          },
        }),
  };
}
