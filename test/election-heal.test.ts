import { describe, expect, it } from 'vitest';
import { everyone, settled } from './helpers/election-pool.ts';

/**
 * The election's share of "one leader within 5 s of heal" (issue 15). After a 120 s partition
 * each side has reaped the other, and the real pool takes seconds to find its members again
 * (membership); once the views agree, the election must not add a lease timeout of its own: the
 * side without a lease has been without it for far longer than leaseTimeout, so its leader yields
 * to the higher claim at once, or the leased leader bids above the higher claim at once.
 */
describe('election after a long partition heals', () => {
  const ROUND = 100;

  function cutAndHeal(minority: string[]) {
    const pool = settled(['a', 'b', 'c', 'd', 'e']);
    const side = new Set(minority);
    pool.view = (o, other) => (side.has(o) === side.has(other) ? 'alive' : 'gone');
    pool.run(120_000);
    pool.view = () => 'alive';
    const healedAt = pool.now;
    for (let n = 0; n < 100 && new Set(Object.values(pool.followed())).size > 1; n++) pool.round();
    return { pool, agreeMs: pool.now - healedAt, claims: pool.claims.filter((c) => c.at >= healedAt) };
  }

  it('the leader cut off with the minority (lower term) yields within a few rounds of the views agreeing', () => {
    const { pool, agreeMs, claims } = cutAndHeal(['a', 'b']);
    expect(pool.followed()).toEqual(everyone('abcde', 'c@2'));
    expect(agreeMs).toBeLessThanOrEqual(3 * ROUND);
    expect(claims).toEqual([]);
  });

  it('a minority that elected the higher term yields to the leased leader, which bids above it at once', () => {
    const { pool, agreeMs, claims } = cutAndHeal(['d', 'e']);
    expect(pool.followed()).toEqual(everyone('abcde', 'a@3'));
    expect(agreeMs).toBeLessThanOrEqual(3 * ROUND);
    expect(claims.map((c) => `${c.peerId}@${c.term}`)).toEqual(['a@3']);
  });
});
