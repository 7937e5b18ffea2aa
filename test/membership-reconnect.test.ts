import { describe, expect, it } from 'vitest';
import { rejoinDelay } from '../agent/membership/joining.ts';
import { LOST } from '../agent/membership/membership-options.ts';
import { LostMembers } from '../agent/membership/reconnect.ts';

/** Every retry of `lost` in [from, to), one pick per second as the shell's reconnect loop does. */
function retries(lost: LostMembers, from: number, to: number): { at: number; id: string }[] {
  const out: { at: number; id: string }[] = [];
  for (let t = from; t < to; t += 1000) {
    const p = lost.pick(t, 0);
    if (p) out.push({ at: t, id: p.id });
  }
  return out;
}

describe('finding members again after a long partition (issue 15)', () => {
  it('still retries a member lost 2.5 minutes ago every 2 s, so a cut of minutes merges within seconds of its heal', () => {
    const lost = new LostMembers(LOST);
    lost.lost('a', ['/ip4/127.0.0.2/tcp/1'], 0);
    // The heal comes 150 s after the loss (a 2-minute cut, declared dead a few seconds in, healed late).
    const after = retries(lost, 150_000, 160_000);
    expect(after.length).toBeGreaterThanOrEqual(4);
    expect(after[0]!.at - 150_000).toBeLessThanOrEqual(2000);
  });

  it('retries a member whose host refused (it died) only at the slow rate from then on', () => {
    const lost = new LostMembers(LOST);
    lost.lost('a', ['/a'], 0);
    lost.lost('b', ['/b'], 0);
    expect(retries(lost, 2000, 3000).map((r) => r.id)).toEqual(['a']);
    lost.refused('a', 2000);
    const next = retries(lost, 3000, 40_000);
    const aAt = next.filter((r) => r.id === 'a').map((r) => r.at);
    expect(aAt[0]).toBeGreaterThanOrEqual(2000 + LOST.slowEvery);
    // b, never refused, keeps the fast rate.
    expect(next.filter((r) => r.id === 'b').length).toBeGreaterThanOrEqual(15);
    lost.refused('unknown', 5000);
    expect(lost.size).toBe(2);
  });

  it('costs at most one dial per second per agent, however many are lost', () => {
    const lost = new LostMembers(LOST);
    for (let i = 0; i < 500; i++) lost.lost(`m${i}`, [`/m${i}`], 0);
    const got = retries(lost, 0, 60_000);
    expect(got.length).toBeLessThanOrEqual(60);
  });
});

describe('a joiner none of whose seeds answered', () => {
  it('waits at most 4 s between join rounds while it holds nobody, 30 s once it holds someone', () => {
    for (const failed of [2, 5, 10]) {
      expect(rejoinDelay(failed, 0.999, true)).toBeLessThanOrEqual(6000);
      expect(rejoinDelay(failed, 0.5, true)).toBe(4000);
    }
    expect(rejoinDelay(0, 0.5, true)).toBe(2000);
    expect(rejoinDelay(9, 0.5, false)).toBe(30_000);
    expect(rejoinDelay(9, 0.5)).toBe(30_000);
  });
});
