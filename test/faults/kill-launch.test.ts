import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultPool } from '../fixtures/fault-pool.ts';
import { type KillPoint, type KillRound, killDuringLaunch } from './kill-launch-case.ts';

/**
 * kill -9 of the leader during a launch, twenty times: five at each crash point of the local
 * launch (before its write-ahead record, after it, between spawn and record) and five at random
 * moments of the growth. The pool never lists more than max, never reuses an id, settles with
 * exactly one agent process per live record (no leaked agent), and terminate leaves nothing.
 */

const ROUNDS = 20;
const KINDS: KillPoint[] = ['after-spawn', 'before-record', 'after-record', 'random'];
const POINTS: KillPoint[] = Array.from({ length: ROUNDS }, (_, n) => KINDS[n % KINDS.length] as KillPoint);

describe('kill -9 of the leader mid-launch (real agents)', () => {
  let pool: FaultPool;
  const rounds: KillRound[] = [];

  beforeAll(async () => {
    pool = await FaultPool.create({ name: 'kill', min: 3, max: 5 });
    await pool.bootstrap();
    pool.startSampler();
  });

  afterAll(async () => {
    console.info(`kill-during-launch rounds: ${JSON.stringify(rounds)}`);
    await pool?.cleanup();
  });

  for (const [n, point] of POINTS.entries()) {
    it(`round ${n + 1}: the leader dies at ${point}`, async () => {
      const round = await killDuringLaunch(pool, point);
      rounds.push(round);
      expect(round.died, JSON.stringify(round)).toBe(true);
      expect(round.settled, `${JSON.stringify(round)}\n${await pool.logTails(8)}`).toBe(true);
      expect(round.oneAgentPerRecord, JSON.stringify(round)).toBe(true);
      expect(pool.maxSeen).toBeLessThanOrEqual(5);
      expect([...pool.reused]).toEqual([]);
    });
  }

  it('terminate leaves nothing', async () => {
    const { run, pids, listed } = await pool.terminate();
    expect(run.code, run.stderr).toBe(0);
    expect(pids).toEqual([]);
    expect(listed).toEqual([]);
    expect(pool.maxSeen).toBeLessThanOrEqual(5);
    expect([...pool.reused]).toEqual([]);
  });
});
