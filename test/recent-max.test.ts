import { describe, expect, it } from 'vitest';
import { RecentMax } from '../agent/monitor/recent-max.ts';

describe('RecentMax (the loop-lag gauge’s window)', () => {
  it('keeps the largest of the last `size` values, forgetting older ones', () => {
    const m = new RecentMax(3);
    expect([5, 1, 2, 0, 0].map((v) => m.add(v))).toEqual([5, 5, 5, 2, 2]);
    expect(m.add(0)).toBe(0);
  });
});
