import { describe, expect, it } from 'vitest';
import { targetSchema } from '../shared/config/policy-schema.ts';
import { type Recommendation, targetVerdict } from '../shared/scaling/policies/target.ts';

const policy = (over: Record<string, unknown> = {}) => targetSchema.parse({ metric: 'cpu', value: 60, ...over });

/** Feeds (at, value) samples through the policy at a fixed count, returning each desired size. */
function run(p: ReturnType<typeof policy>, count: number, samples: Array<[number, number | null]>): (number | null)[] {
  let history: Recommendation[] = [];
  return samples.map(([at, value]) => {
    const r = targetVerdict(p, value, count, history, at);
    history = r.history;
    return r.verdict.desired;
  });
}

describe('target tracking', () => {
  it('sizes by the ratio, rounding up: desired = ceil(count × value / target)', () => {
    const p = policy({ scaleInStabilization: 0 });
    expect(targetVerdict(p, 90, 3, [], 0).verdict).toEqual({
      policy: 'target',
      desired: 5, // 3 × 90/60 = 4.5
      why: 'avg(cpu) 90 vs target 60: 3 → 5',
    });
    expect(targetVerdict(p, 120, 4, [], 0).verdict.desired).toBe(8);
    expect(targetVerdict(p, 30, 4, [], 0).verdict.desired).toBe(2);
    expect(targetVerdict(p, 0, 4, [], 0).verdict.desired).toBe(0);
  });

  it('changes nothing inside the tolerance band, and says so', () => {
    const p = policy();
    expect(targetVerdict(p, 65, 4, [], 0).verdict).toEqual({
      policy: 'target',
      desired: 4,
      why: 'avg(cpu) 65 is within ±10% of target 60',
    });
    expect(targetVerdict(p, 54, 4, [], 0).verdict.desired).toBe(4);
    expect(targetVerdict(p, 67, 4, [], 0).verdict.desired).toBe(5);
    expect(targetVerdict(policy({ tolerance: 0.2 }), 71, 4, [], 0).verdict.desired).toBe(4);
  });

  it('scales in to the highest recommendation of the scale-in window (as the HPA does)', () => {
    // 5 min window: a dip to 30 after a minute at 60 keeps 4; once the window has only low
    // recommendations, it shrinks to what they ask.
    const p = policy({ scaleInStabilization: '5m' });
    const desired = run(p, 4, [
      [0, 60],
      [60_000, 30],
      [120_000, 30],
      [300_000, 30],
      [360_001, 30],
    ]);
    expect(desired).toEqual([4, 4, 4, 4, 2]);
    const held = targetVerdict(p, 30, 4, [{ at: 0, desired: 4 }], 60_000).verdict.why;
    expect(held).toBe('avg(cpu) 30 vs target 60: 4 → 2, held at 4 by the 5m scale-in window');
  });

  it('scales out at once by default, or at the lowest recommendation of a scale-out window', () => {
    expect(run(policy(), 2, [[0, 120]])).toEqual([4]);
    const p = policy({ scaleOutStabilization: '1m' });
    expect(
      run(p, 2, [
        [0, 60],
        [30_000, 120],
        [60_000, 120],
        [90_001, 120],
      ]),
    ).toEqual([2, 2, 2, 4]);
  });

  it('has no opinion without fresh samples or without instances to size from', () => {
    expect(targetVerdict(policy(), null, 3, [], 0).verdict).toEqual({
      policy: 'target',
      desired: null,
      why: 'no fresh avg(cpu) samples',
    });
    expect(targetVerdict(policy(), 90, 0, [], 0).verdict.desired).toBeNull();
  });

  it('forgets recommendations older than its longest window', () => {
    const p = policy({ scaleInStabilization: '1m', scaleOutStabilization: '10s' });
    const old: Recommendation[] = [
      { at: 0, desired: 9 },
      { at: 50_000, desired: 7 },
    ];
    const r = targetVerdict(p, 60, 3, old, 100_000);
    expect(r.history).toEqual([
      { at: 50_000, desired: 7 },
      { at: 100_000, desired: 3 },
    ]);
  });
});
