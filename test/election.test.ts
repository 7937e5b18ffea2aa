import { describe, expect, it } from 'vitest';
import {
  type Candidate,
  type ElectionState,
  initialElection,
  isCurrentTerm,
  stepElection,
} from '../agent/leader/election.ts';

const SETTLE = 1000;

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

  it('a leader seeing a better claim steps down at once (split brain healed)', () => {
    const x = stepElection(
      { term: 3, leads: 3, leader: { peerId: 'x', term: 3, since: 0 }, startedAt: 0 },
      {
        self: { peerId: 'x' },
        alive: [{ peerId: 'y', startedAt: 10, term: 4, leads: 4 }],
        seenTerm: 0,
        now: 5000,
        settleAfter: SETTLE,
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

  it('a leader re-asserts above a higher term it sees without a live claim', () => {
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
    expect(r.state.leads).toBe(8);
    expect(isCurrentTerm(r.state, 8)).toBe(true);
    expect(isCurrentTerm(r.state, 3)).toBe(false);
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
    expect(r.events).toEqual([{ type: 'leader-elected', peerId: 'a', term: 42, at: 5000, self: true }]);
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
