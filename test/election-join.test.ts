import { describe, expect, it } from 'vitest';
import { initialElection } from '../agent/leader/election.ts';
import { joinedThrough } from '../agent/leader/seeds.ts';
import { Leadership } from '../agent/leadership.ts';
import { everyone, Pool, SETTLE } from './helpers/election-pool.ts';
import { memberRecord as record } from './helpers/records.ts';

/**
 * A starting agent given seeds claims no term before it has joined through one of them (or a
 * join window has passed). Seen in a bootstrap of 5 real local agents: each elected itself at
 * term 1 within half a second of starting — its seeds were not listening yet — and the islands'
 * rival term-1 claims then cost the pool a contested term.
 */
describe('election: a seeded agent claims only once joined', () => {
  /**
   * A bootstrap as the local remoter launches it: each agent is given the ones before it as
   * seeds and started 200 ms after the previous one; an agent sees the pool only from its join
   * time on (its seeds refused it before). c joins through b before either reaches a: b and c
   * must not make an island that elects its own term-1 leader.
   */
  function bootstrap(joinWindow?: number) {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const pool = new Pool(ids, { claimDelay: 500, leaseTimeout: 3000, ...(joinWindow ? { joinWindow } : {}) });
    ids.forEach((id, i) => {
      pool.nodes.set(id, initialElection(i * 200));
      pool.seeds.set(id, ids.slice(0, i));
    });
    const joinAt: Record<string, number> = { a: 0, b: 2500, c: 4000, d: 3000, e: 6000 };
    const island = (x: string, y: string) => [x, y].sort().join('') === 'bc';
    pool.view = (o, other, now) =>
      (now >= (joinAt[o] ?? 0) && now >= (joinAt[other] ?? 0)) || (island(o, other) && now >= 1500) ? 'alive' : 'gone';
    return pool;
  }

  it('a bootstrap whose later agents reach no seed at first has one term-1 claimant and no second term', () => {
    const pool = bootstrap();
    pool.run(12_000);
    expect(pool.claims).toEqual([{ peerId: 'a', term: 1, at: expect.any(Number) }]);
    expect(pool.followed()).toEqual(everyone('abcde', 'a@1'));
  });

  it('without waiting for a join (a window of 1 ms) the same bootstrap elects several term-1 leaders', () => {
    // The rule's counterpart: this is what every real bootstrap did before it.
    const pool = bootstrap(1);
    pool.run(12_000);
    expect(pool.claims.filter((c) => c.term === 1).length).toBeGreaterThan(1);
  });

  it('a joiner older than the first node, joined through a later one, listens before claiming', () => {
    // Process start order on a loaded machine: o started before f, the pool's first (no seeds).
    // o reaches m, its seed, at 1200 and f only at 1800; f claims at 1200, unseen by o till 1800.
    const pool = new Pool(['f', 'o', 'm'], { claimDelay: 500, leaseTimeout: 3000 });
    const starts: Record<string, number> = { f: 200, o: 0, m: 400 };
    for (const [id, at] of Object.entries(starts)) pool.nodes.set(id, initialElection(at));
    pool.seeds.set('o', ['f', 'm']);
    pool.seeds.set('m', ['f']);
    const sees = (x: string, y: string, now: number) => {
      const pair = [x, y].sort().join('');
      return pair === 'mo' ? now >= 1200 : pair === 'fo' ? now >= 1800 : now >= 1000;
    };
    pool.view = (o, other, now) => (sees(o, other, now) ? 'alive' : 'gone');
    pool.run(8000);
    expect(pool.claims).toEqual([{ peerId: 'f', term: 1, at: 1200 }]);
    expect(pool.followed()).toEqual(everyone('fom', 'f@1'));
  });

  it('a lone first node (no seeds) claims as soon as it has settled', () => {
    const pool = new Pool(['a'], { claimDelay: 500, leaseTimeout: 3000 });
    pool.run(3000);
    expect(pool.claims).toEqual([{ peerId: 'a', term: 1, at: SETTLE }]);
  });

  it('a node whose seeds never answer claims once the join window has passed, not before', () => {
    const pool = new Pool(['r'], { claimDelay: 500, leaseTimeout: 3000, joinWindow: 8000 });
    pool.seeds.set('r', ['gone-1', 'gone-2']);
    pool.run(7900);
    expect(pool.claims).toEqual([]);
    pool.run(500);
    expect(pool.claims).toEqual([{ peerId: 'r', term: 1, at: 8000 }]);
  });
});

describe('seeds: when an agent has joined', () => {
  const seed = (id: string) => `/ip4/127.0.0.1/tcp/4001/p2p/${id}`;
  const member = (peerId: string) => ({ peerId, addrs: ['/ip4/127.0.0.1/tcp/4001'] });

  it('joined through a seed named by peer id; no seeds but itself is the first node; an address alone takes anyone', () => {
    expect(joinedThrough([], 's', [])).toBe(true);
    expect(joinedThrough([seed('s')], 's', [])).toBe(true);
    expect(joinedThrough([seed('a'), seed('b')], 's', [])).toBe(false);
    expect(joinedThrough([seed('a'), seed('b')], 's', [member('c')])).toBe(false);
    expect(joinedThrough([seed('a'), seed('b')], 's', [member('c'), member('b')])).toBe(true);
    expect(joinedThrough(['/ip4/10.0.0.5/tcp/4001'], 's', [])).toBe(false);
    expect(joinedThrough(['/ip4/10.0.0.5/tcp/4001'], 's', [member('c')])).toBe(true);
  });

  it("the agent's Leadership waits for a seed, then claims; once joined, a seed's death does not matter", () => {
    const leadership = new Leadership({
      selfPeerId: () => 'm',
      startedAt: 10,
      settleAfter: 500,
      claimDelay: 0,
      seeds: [seed('a')],
      joinWindow: 10_000,
    });
    leadership.step([], 1000);
    leadership.step([record('x', { startedAt: 50 })], 2000); // joined through us, not a seed
    expect(leadership.leads).toBeNull();
    leadership.step([record('a', { startedAt: 5 })], 3000); // the seed, older: it is followed, not us
    expect(leadership.leads).toBeNull();
    // The seed dies: this agent has joined, so it claims once settled after its join (the oldest left).
    leadership.step([], 3100);
    expect(leadership.leads).toBeNull();
    leadership.step([], 3500);
    expect(leadership.leads).toBe(1);
  });
});
