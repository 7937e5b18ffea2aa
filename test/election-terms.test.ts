import { describe, expect, it } from 'vitest';
import { initialElection, stepElection } from '../agent/leader/election.ts';
import { everyone, Pool, SETTLE, settled } from './helpers/election-pool.ts';

/** Terms only go up (issue 15): no claim below a known term wins, however long a leader went without its lease. */
describe('election terms', () => {
  it('a leader without its lease does not step down to a claim below its term', () => {
    // Seen in the fault suite: the leader at term 3 had had no lease for 12 s (2 × leaseTimeout);
    // a node that had just joined, alone so far, claimed term 1 and the leader yielded to it.
    const r = stepElection(
      { term: 3, leads: 3, leader: { peerId: 'c', term: 3, since: 0 }, startedAt: 0, leadingSince: 0, leaseHeldAt: 0 },
      {
        self: { peerId: 'c' },
        alive: [
          { peerId: 'd', startedAt: 3, term: 3 },
          { peerId: 'j', startedAt: 11_000, term: 1, leads: 1 },
        ],
        seenTerm: 0,
        now: 12_000,
        settleAfter: SETTLE,
        leaseTimeout: 6000,
      },
    );
    expect(r.state).toMatchObject({ term: 3, leads: 3, leader: { peerId: 'c', term: 3 } });
    expect(r.events).toEqual([]);
  });

  it('a replacement that claimed term 1 alone never wins over the sitting leader at term 3', () => {
    const pool = settled(['a', 'b', 'c', 'd', 'e']);
    pool.down.add('a');
    pool.run(3000);
    pool.down.add('b');
    pool.run(3000);
    expect(pool.followed()).toEqual(everyone('cde', 'c@3'));
    // The replacement joins: it sees nobody and nobody sees it for 8 s, so it claims term 1
    // alone; meanwhile the leader has no lease (two dead members still count in the pool).
    const joinedAt = pool.now;
    pool.nodes.set('j', initialElection(joinedAt));
    const cutOff = (o: string, other: string, now: number) => (o === 'j' || other === 'j') && now - joinedAt < 8000;
    pool.view = (o, other, now) => (pool.down.has(other) || cutOff(o, other, now) ? 'gone' : 'alive');
    pool.run(7900);
    expect(pool.followed()).toMatchObject({ ...everyone('cde', 'c@3'), j: 'j@1' });
    expect(pool.leaseHeld('c')).toBe(false);
    pool.run(10_000);
    expect(pool.leaders()).toEqual(['c']);
    expect(pool.followed()).toEqual(everyone('cdej', 'c@3'));
    // Its stale claim cost no term either: the only claim since it joined is its own lonely one.
    expect(pool.claims.filter((c) => c.at >= joinedAt)).toEqual([{ peerId: 'j', term: 1, at: expect.any(Number) }]);
  });

  it('a hostile member claiming term+1, then term+5, beside a leader holding its lease moves only the term', () => {
    const pool = settled(['a', 'b', 'c', 'x']);
    expect(pool.leaseHeld('a')).toBe(true);
    const from = pool.now;
    pool.hostile.set('x', { peerId: 'x', startedAt: -1e9, term: 2, leads: 2 });
    pool.run(3000);
    pool.hostile.set('x', { peerId: 'x', startedAt: -1e9, term: 6, leads: 6 });
    pool.run(10_000);
    expect(pool.leaders()).toEqual(['a']);
    // The leader bid above each higher claim once (terms only go up) and kept every follower.
    expect(pool.claims.filter((c) => c.at >= from).map((c) => `${c.peerId}@${c.term}`)).toEqual(['a@3', 'a@7']);
    expect(pool.followed()).toEqual({ a: 'a@7', b: 'a@7', c: 'a@7' });
  });

  it('partition heal: the minority leader (no lease) steps down for the majority leader, one leader within seconds', () => {
    const pool = settled(['a', 'b', 'c', 'd', 'e']);
    const minority = new Set(['a', 'b']);
    pool.view = (o, other) => (minority.has(o) === minority.has(other) ? 'alive' : 'gone');
    pool.run(10_000);
    expect(pool.leaders().sort()).toEqual(['a', 'c']);
    expect(pool.leaseHeld('a')).toBe(false);
    expect(pool.leaseHeld('c')).toBe(true);
    pool.view = () => 'alive';
    const healedAt = pool.now;
    pool.run(5000);
    expect(pool.followed()).toEqual(everyone('abcde', 'c@2'));
    expect(pool.claims.filter((c) => c.at >= healedAt)).toEqual([]);
  });

  it('partition heal: a minority that elected a higher term yields to the leased leader of the majority, which bids above it', () => {
    const pool = settled(['a', 'b', 'c', 'd', 'e']);
    const minority = new Set(['d', 'e']);
    pool.view = (o, other) => (minority.has(o) === minority.has(other) ? 'alive' : 'gone');
    pool.run(10_000);
    expect(pool.followed()).toEqual({ ...everyone('abc', 'a@1'), ...everyone('de', 'd@2') });
    pool.view = () => 'alive';
    const healedAt = pool.now;
    pool.run(5000);
    expect(pool.leaders()).toEqual(['a']);
    // The leased leader bids above the minority's term once; no term goes down.
    expect(pool.claims.filter((c) => c.at >= healedAt)).toEqual([{ peerId: 'a', term: 3, at: expect.any(Number) }]);
    expect(pool.followed()).toEqual(everyone('abcde', 'a@3'));
  });

  /**
   * Seen in simulate-parity: two members raced for term 1 unseen by each other; the younger had
   * the lease and launched with token (term 1, action 1), then lost its lease when the pool grew
   * and stepped down to the older, which went on numbering term-1 actions from 1 (it had refused
   * the other's intents) and reused the token: its launch was a no-op. A term is acted in by one
   * node only, whichever way the race ends.
   */
  describe('one leader per term', () => {
    /**
     * Runs the pool and returns, per term, every node that could act in it: it led the term,
     * uncontested, holding its lease (the agent's LeaderDuty.actingTerm).
     */
    function actors(pool: Pool, ms: number, into = new Map<number, Set<string>>()) {
      for (const end = pool.now + ms; pool.now < end; ) {
        for (const [id, s] of pool.nodes)
          if (s.leads !== null && !s.contested && !pool.down.has(id) && pool.leaseHeld(id))
            into.set(s.leads, (into.get(s.leads) ?? new Set()).add(id));
        pool.round();
      }
      return into;
    }
    const raced = () => {
      // o (oldest) is cut off from y and f: it claims term 1 alone; y claims term 1 with f behind it.
      const pool = new Pool(['o', 'y', 'f'], { claimDelay: 500, leaseTimeout: 3000 });
      pool.now = SETTLE;
      let cut = true;
      pool.view = (a, b) => (cut && (a === 'o' || b === 'o') ? 'gone' : pool.down.has(b) ? 'gone' : 'alive');
      const acted = actors(pool, 3000);
      expect(pool.followed()).toEqual({ o: 'o@1', y: 'y@1', f: 'y@1' });
      expect([...(acted.get(1) ?? [])]).toEqual(['y']);
      return { pool, acted, heal: () => (cut = false) };
    };

    it('the racer holding the lease claims above the older one, which yields', () => {
      const { pool, acted, heal } = raced();
      heal();
      actors(pool, 10_000, acted);
      expect(pool.leaders()).toEqual(['y']);
      expect(pool.followed()).toEqual(everyone('oyf', 'y@2'));
      expect([...acted].map(([term, who]) => `${term}:${[...who]}`)).toEqual(['1:y', '2:y']);
    });

    it('the older racer that outlasts a rival which acted in its term claims above it before acting', () => {
      const { pool, acted, heal } = raced();
      // y loses its lease (f is gone) before it meets o: it steps down to o's older claim at term 1.
      pool.down.add('f');
      actors(pool, 200, acted);
      heal();
      actors(pool, 10_000, acted);
      expect(pool.leaders()).toEqual(['o']);
      expect(pool.followed()).toEqual({ o: 'o@2', y: 'o@2' });
      expect([...(acted.get(1) ?? [])]).toEqual(['y']);
      expect([...(acted.get(2) ?? [])]).toEqual(['o']);
    });

    /**
     * A key holder that claims the leader's current term every round, looking older (it ranks
     * better: the leader bids above it once per leaseTimeout) or younger (it ranks worse). The
     * lease carries over each re-bid (reign.ts): without that, the leader lost its lease in the
     * round after a re-bid and stepped down to the older-looking claim of its new term.
     */
    for (const [looks, startedAt] of [
      ['older', -1e9],
      ['younger', 1e9],
    ] as const)
      it(`a key holder that always claims the leased leader's own term (${looks}) does not stop it from acting`, () => {
        const pool = settled(['a', 'b', 'c', 'x']);
        const from = pool.now;
        const termFrom = pool.nodes.get('a')?.leads ?? 0;
        const acted = new Map<number, Set<string>>();
        let acting = 0;
        let rounds = 0;
        for (const end = from + 20_000; pool.now < end; rounds++) {
          const term = pool.nodes.get('a')?.leads ?? pool.nodes.get('a')?.term ?? 0;
          pool.hostile.set('x', { peerId: 'x', startedAt, term, leads: term });
          actors(pool, 100, acted);
          const a = pool.nodes.get('a');
          if (a && a.leads !== null && !a.contested && pool.leaseHeld('a')) acting++;
        }
        // The honest leader keeps the pool and acts all along (a round or two of slack).
        expect(pool.leaders()).toEqual(['a']);
        for (const id of 'abc') expect(pool.nodes.get(id)?.leader?.peerId).toBe('a');
        expect(acting).toBeGreaterThanOrEqual(rounds - 2);
        // Terms grow at most one per leaseTimeout (3 s), only for the better-ranked claimant.
        const rebids = (pool.nodes.get('a')?.leads ?? 0) - termFrom;
        expect(rebids).toBeLessThanOrEqual(looks === 'older' ? Math.floor(20_000 / 3000) + 1 : 0);
        // No two members act in one term.
        for (const [term, who] of acted) expect([term, [...who]]).toEqual([term, ['a']]);
      });
  });
});
