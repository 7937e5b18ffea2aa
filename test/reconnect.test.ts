import { describe, expect, it } from 'vitest';
import { LostMembers } from '../agent/membership/reconnect.ts';

describe('lost members (what a healed partition is merged through)', () => {
  it('offers a lost member until it is found again, or until it has been lost too long', () => {
    const lost = new LostMembers(10, 1000);
    lost.lost('a', ['/ip4/127.0.0.2/tcp/1'], 0);
    expect(lost.pick(500, 0)).toEqual({ id: 'a', addrs: ['/ip4/127.0.0.2/tcp/1'] });
    lost.found('a');
    expect(lost.pick(500, 0)).toBeUndefined();
    lost.lost('b', ['/ip4/127.0.0.3/tcp/1'], 0);
    expect(lost.pick(1001, 0)).toBeUndefined();
    expect(lost.size).toBe(0);
  });

  it('keeps at most its capacity, dropping the oldest; a member without addresses is not kept', () => {
    const lost = new LostMembers(2, 10_000);
    lost.lost('a', ['/a'], 0);
    lost.lost('b', ['/b'], 1);
    lost.lost('c', ['/c'], 2);
    lost.lost('d', [], 3);
    expect(lost.size).toBe(2);
    const picked = new Set([0, 0.99].map((r) => lost.pick(5, r)?.id));
    expect(picked).toEqual(new Set(['b', 'c']));
  });
});
