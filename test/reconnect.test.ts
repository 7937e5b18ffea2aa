import { describe, expect, it } from 'vitest';
import { LostMembers } from '../agent/membership/reconnect.ts';

const opts = { max: 10, keepFor: 100_000, fastEvery: 2000, fastFor: 10_000, slowEvery: 30_000 };

describe('lost members (what a healed partition is merged through)', () => {
  it('retries a lost member often at first, then rarely, until found or kept too long', () => {
    const lost = new LostMembers(opts);
    lost.lost('a', ['/ip4/127.0.0.2/tcp/1'], 0);
    expect(lost.pick(1000, 0)).toBeUndefined();
    expect(lost.pick(2000, 0)).toEqual({ id: 'a', addrs: ['/ip4/127.0.0.2/tcp/1'] });
    expect(lost.pick(3000, 0)).toBeUndefined();
    expect(lost.pick(4000, 0)?.id).toBe('a');
    // Past fastFor: the next try is slowEvery later.
    expect(lost.pick(12_000, 0)?.id).toBe('a');
    expect(lost.pick(40_000, 0)).toBeUndefined();
    expect(lost.pick(42_000, 0)?.id).toBe('a');
    lost.found('a');
    expect(lost.pick(80_000, 0)).toBeUndefined();
    lost.lost('b', ['/b'], 0);
    expect(lost.pick(100_001, 0)).toBeUndefined();
    expect(lost.size).toBe(0);
  });

  it('keeps at most its capacity, dropping the oldest; a member without addresses is not kept', () => {
    const lost = new LostMembers({ ...opts, max: 2 });
    lost.lost('a', ['/a'], 0);
    lost.lost('b', ['/b'], 1);
    lost.lost('c', ['/c'], 2);
    lost.lost('d', [], 3);
    expect(lost.size).toBe(2);
    const picked = new Set([0, 0.99].map((r) => lost.pick(5000, r)?.id));
    expect(picked).toEqual(new Set(['b', 'c']));
  });
});
