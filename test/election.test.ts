import { describe, expect, it } from 'vitest';
import {
  type Candidate,
  type ElectionState,
  initialElection,
  isCurrentTerm,
  stepElection,
} from '../agent/leader/election.ts';
import { everyone, SETTLE, settled } from './helpers/election-pool.ts';

/** A tiny pool simulator: every node runs the pure election over the others' published state. */
class Sim {
  nodes = new Map<string, ElectionState>();
  alive = new Set<string>();
  now = 0;

  add(peerId: string, startedAt = this.now) {
    this.nodes.set(peerId, initialElection(startedAt));
    this.alive.add(peerId);
  }

  candidate(peerId: string): Candidate {
    const s = this.nodes.get(peerId) as ElectionState;
    return { peerId, startedAt: s.startedAt, term: s.term, ...(s.leads !== null ? { leads: s.leads } : {}) };
  }

  /** One round: each alive node steps on a snapshot of the others. */
  round(retiring: string[] = []) {
    const snapshot = new Map(
      [...this.alive].map((p) => [p, { ...this.candidate(p), ...(retiring.includes(p) ? { retiring: true } : {}) }]),
    );
    const events = [];
    for (const p of this.alive) {
      const others = [...snapshot.values()].filter((c) => c.peerId !== p);
      const r = stepElection(this.nodes.get(p) as ElectionState, {
        self: { peerId: p },
        alive: others,
        seenTerm: 0,
        now: this.now,
        settleAfter: SETTLE,
        retiring: retiring.includes(p),
      });
      this.nodes.set(p, r.state);
      events.push(...r.events.map((e) => ({ on: p, ...e })));
    }
    this.now += 100;
    return events;
  }

  settle(rounds = 5) {
    for (let i = 0; i < rounds; i++) this.round();
  }

  leaders() {
    return [...this.alive].filter((p) => this.nodes.get(p)?.leads !== null);
  }

  views() {
    return new Set(
      [...this.alive].map((p) =>
        JSON.stringify(this.nodes.get(p)?.leader && { ...this.nodes.get(p)?.leader, since: 0 }),
      ),
    );
  }
}

describe('leader election', () => {
  it('elects the oldest alive member once settled, and everyone agrees', () => {
    const sim = new Sim();
    sim.add('b', 0);
    sim.add('a', 0);
    sim.add('c', 50);
    sim.round();
    expect(sim.leaders()).toEqual([]); // still settling
    sim.now = SETTLE;
    sim.settle();
    expect(sim.leaders()).toEqual(['a']); // same start: smaller peer id
    expect(sim.views().size).toBe(1);
    expect(sim.nodes.get('c')?.leader).toMatchObject({ peerId: 'a', term: 1 });
  });

  it('is stable: an older-looking joiner never takes over a live leader', () => {
    const sim = new Sim();
    sim.add('m', 1000);
    sim.add('n', 1000);
    sim.now = 2000;
    sim.settle();
    expect(sim.leaders()).toEqual(['m']);
    sim.add('a', -5000); // clock skew: claims to be far older
    sim.now += SETTLE;
    sim.settle();
    expect(sim.leaders()).toEqual(['m']);
    expect(sim.nodes.get('a')?.leader?.peerId).toBe('m');
  });

  it('re-elects with a higher term when the leader dies', () => {
    const sim = new Sim();
    for (const p of ['a', 'b', 'c']) sim.add(p, p.charCodeAt(0));
    sim.now = 2000;
    sim.settle();
    expect(sim.leaders()).toEqual(['a']);
    sim.alive.delete('a');
    const events = sim.round();
    // b, now the oldest, claims at once; c has lost its leader until b's claim reaches it.
    expect(events.map((e) => `${e.on}:${e.type}`).sort()).toEqual(['b:leader-elected', 'c:leader-lost']);
    sim.settle();
    expect(sim.leaders()).toEqual(['b']);
    expect(sim.nodes.get('c')?.leader).toMatchObject({ peerId: 'b', term: 2 });
  });

  it('a leader without its lease for leaseTimeout steps down for a better claim (split brain healed)', () => {
    const x = stepElection(
      {
        term: 3,
        leads: 3,
        leader: { peerId: 'x', term: 3, since: 0 },
        startedAt: 0,
        leadingSince: 0,
        leaseHeldAt: null,
      },
      {
        self: { peerId: 'x' },
        alive: [{ peerId: 'y', startedAt: 10, term: 4, leads: 4 }],
        seenTerm: 0,
        now: 5000,
        settleAfter: SETTLE,
        leaseTimeout: 3000,
      },
    );
    expect(x.state.leads).toBeNull();
    expect(x.state.leader).toMatchObject({ peerId: 'y', term: 4 });
    expect(x.events.map((e) => e.type)).toEqual(['leader-stepped-down', 'leader-elected']);
    expect(isCurrentTerm(x.state, 3)).toBe(false);
  });

  it('equal terms resolve by age, the same way on both sides', () => {
    const input = (self: string, other: Candidate) => ({
      self: { peerId: self },
      alive: [other],
      seenTerm: 0,
      now: 5000,
      settleAfter: SETTLE,
    });
    const older = stepElection(
      { term: 2, leads: 2, leader: null, startedAt: 0 },
      input('o', { peerId: 'y', startedAt: 9, term: 2, leads: 2 }),
    );
    const younger = stepElection(
      { term: 2, leads: 2, leader: null, startedAt: 9 },
      input('y', { peerId: 'o', startedAt: 0, term: 2, leads: 2 }),
    );
    expect(older.state.leads).toBe(2);
    expect(younger.state.leads).toBeNull();
    expect(younger.state.leader?.peerId).toBe('o');
  });

  it('a leader never re-asserts at a higher term: a term seen without a claim costs no new term', () => {
    const r = stepElection(
      { term: 3, leads: 3, leader: { peerId: 'x', term: 3, since: 0 }, startedAt: 0 },
      {
        self: { peerId: 'x' },
        alive: [{ peerId: 'y', startedAt: 10, term: 7 }],
        seenTerm: 0,
        now: 5000,
        settleAfter: SETTLE,
      },
    );
    expect(r.state).toMatchObject({ term: 7, leads: 3 });
    expect(r.events).toEqual([]);
    expect(isCurrentTerm(r.state, 3)).toBe(true);
  });

  it('a new leader takes a term above every term seen, also from gossip of dead members', () => {
    const r = stepElection(initialElection(0), {
      self: { peerId: 'a' },
      alive: [],
      seenTerm: 41,
      now: 5000,
      settleAfter: SETTLE,
    });
    expect(r.state).toMatchObject({ term: 42, leads: 42 });
    expect(r.events).toEqual([
      { type: 'leader-elected', peerId: 'a', term: 42, at: 5000, self: true, reason: 'no-leader-heard' },
    ]);
  });

  it('a retiring leader hands over to the next oldest', () => {
    const sim = new Sim();
    for (const p of ['a', 'b', 'c']) sim.add(p, p.charCodeAt(0));
    sim.now = 2000;
    sim.settle();
    sim.round(['a']);
    sim.round(['a']);
    sim.round(['a']);
    expect(sim.leaders()).toEqual(['b']);
    expect(sim.nodes.get('b')?.leads).toBe(2);
  });
});

describe('election hardening (issue 15)', () => {
  it('one new term per failover, whatever order the survivors learn of the death in', () => {
    const pool = settled(['a', 'b', 'c', 'd', 'e']);
    expect(pool.followed()).toEqual(everyone('abcde', 'a@1'));
    const killedAt = pool.now;
    pool.down.add('a');
    // Views differ: b learns of a's death at once, e after 100 ms, c after 300 ms, d sees a
    // suspect for 600 ms; c falsely suspects b for 400 ms and e for 200 ms (a loaded machine).
    const learns: Record<string, number> = { b: 0, e: 100, c: 300, d: 600 };
    pool.view = (o, other, now) => {
      const t = now - killedAt;
      if (other === 'a') return t >= (learns[o] ?? 0) ? 'gone' : o === 'd' ? 'suspect' : 'alive';
      if (other === 'b' && ((o === 'c' && t < 400) || (o === 'e' && t < 200))) return 'suspect';
      return 'alive';
    };
    pool.run(5000);
    expect(pool.claims.filter((c) => c.at >= killedAt)).toEqual([{ peerId: 'b', term: 2, at: expect.any(Number) }]);
    expect(pool.followed()).toEqual({ b: 'b@2', c: 'b@2', d: 'b@2', e: 'b@2' });
  });

  it('a leader only suspect for a moment (a stalled loop) keeps its followers and costs no term', () => {
    const pool = settled(['a', 'b', 'c']);
    const from = pool.now;
    pool.view = (_o, other, now) => (other === 'a' && now - from < 2000 ? 'suspect' : 'alive');
    pool.run(4000);
    expect(pool.claims.filter((c) => c.at >= from)).toEqual([]);
    expect(pool.followed()).toEqual(everyone('abc', 'a@1'));
  });

  it('candidates that raced for the same new term settle on the older one, which then claims once more', () => {
    const pool = settled(['a', 'b', 'c', 'd']);
    const killedAt = pool.now;
    pool.down.add('a');
    // c cannot see b at all for 1.5 s: both claim term 2.
    pool.view = (o, other, now) =>
      other === 'a'
        ? 'gone'
        : (o === 'c' && other === 'b') || (o === 'b' && other === 'c')
          ? now - killedAt < 1500
            ? 'gone'
            : 'alive'
          : 'alive';
    pool.run(6000);
    // c led term 2 for a while and could have acted in it (scaler tokens are term + action
    // number): b, the older, does not go on minting term-2 tokens but claims term 3.
    const claims = pool.claims.filter((c) => c.at >= killedAt).map((c) => `${c.peerId}@${c.term}`);
    expect(claims.sort()).toEqual(['b@2', 'b@3', 'c@2']);
    expect(pool.leaders()).toEqual(['b']);
    expect(pool.followed()).toEqual({ b: 'b@3', c: 'b@3', d: 'b@3' });
  });

  it('terms beyond highest + maxTermStep, or beyond the safe-integer range, are refused', () => {
    const pool = settled(['a', 'b', 'c', 'x']);
    for (const term of [1 + 17, Number.MAX_SAFE_INTEGER, 2 ** 60, -1, 1.5]) {
      pool.hostile.set('x', { peerId: 'x', startedAt: -1e9, term, leads: term });
      const before = pool.refused;
      pool.round();
      expect(pool.refused).toBeGreaterThan(before);
    }
    pool.run(10_000);
    expect(pool.followed()).toEqual({ a: 'a@1', b: 'a@1', c: 'a@1' });
    for (const id of 'abc') expect(pool.nodes.get(id)?.term).toBe(1);
    // After the leader dies, the next claim is term 2: nothing refused raised the pool's term.
    pool.down.add('a');
    pool.hostile.delete('x');
    pool.down.add('x');
    pool.run(3000);
    expect(pool.followed()).toEqual({ b: 'b@2', c: 'b@2' });
  });

  it('a fresh joiner accepts the pool term the alive members agree on; one member cannot move it later', () => {
    const input = (alive: Candidate[]) => ({ self: { peerId: 'n' }, alive, seenTerm: 0, now: 0, settleAfter: SETTLE });
    const pool = [
      { peerId: 'a', startedAt: 0, term: 50, leads: 50 },
      { peerId: 'b', startedAt: 1, term: 50 },
    ];
    expect(stepElection(initialElection(0), input(pool)).state).toMatchObject({
      term: 50,
      leader: { peerId: 'a', term: 50 },
    });
    // Three: one hostile claim far ahead of the other two is refused.
    const x = { peerId: 'x', startedAt: -5, term: 9000, leads: 9000 };
    const three = stepElection(initialElection(0), input([...pool, x]));
    expect(three.state).toMatchObject({ term: 50, leader: { peerId: 'a', term: 50 } });
    expect(three.refused).toEqual([
      { peerId: 'x', term: 9000 },
      { peerId: 'x', term: 9000 },
    ]);
    // A two-member pool: the fresh node accepts its only peer's term and follows it.
    const two = stepElection(initialElection(0), input([{ peerId: 'a', startedAt: 0, term: 50, leads: 50 }]));
    expect(two.state).toMatchObject({ term: 50, leader: { peerId: 'a', term: 50 } });
    // Once it has a term, that single peer can no longer move it far.
    const later = stepElection(two.state, {
      ...input([{ peerId: 'a', startedAt: 0, term: 9000, leads: 9000 }]),
      now: 100,
    });
    expect(later.state).toMatchObject({ term: 50 });
    expect(later.refused).toHaveLength(2);
  });
});
