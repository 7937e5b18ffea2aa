import { describe, expect, it } from 'vitest';
import { dutyFixture } from './election-duty-fixture.ts';
import { memberRecord as record } from './helpers/records.ts';

/**
 * A leader that steps down tells the peers that followed it (issue 15, heal to one leader): a
 * follower keeps following while the leader's record still claims, so LeaderDuty hands the
 * step-down record to the agent for a point-to-point push (membership.pushRecord) to every peer
 * that acknowledged a term of the reign within the lease window — once per step-down, after the
 * record was re-announced, and never for a re-bid (no step-down).
 */
function setup(others = ['c', 'd']) {
  const log: string[] = [];
  const f = dutyFixture({
    self: 'b',
    members: others.map((id, i) => record(id, { startedAt: 10 * (i + 1) })),
    leaseTimeout: 3000,
    counted: () => 0,
    announce: () => log.push('announce'),
    tellFollowers: (peers) => log.push(`tell ${[...peers].sort().join(',')}`),
  });
  return { ...f, log, tells: () => log.filter((l) => l.startsWith('tell')) };
}

describe('LeaderDuty: a step-down is told to the reign’s followers', () => {
  it('a retiring leader tells its acknowledgers once, after announcing the record without its claim', () => {
    const { duty, leadership, ack, at, log, tells } = setup();
    at(100);
    duty.step();
    expect(leadership.leads).toBe(1);
    ack(['c', 'd'], 1);
    at(300);
    duty.step();
    expect(tells()).toEqual([]);
    leadership.retire();
    at(400);
    duty.step();
    expect(leadership.leads).toBeNull();
    expect(log.slice(-2)).toEqual(['announce', 'tell c,d']);
    for (const t of [600, 800, 1000]) {
      at(t);
      duty.step();
    }
    expect(tells()).toEqual(['tell c,d']);
  });

  it('the cut-off leader yielding at a heal tells the member that stayed with it, not one whose acks are stale', () => {
    const { duty, leadership, members, ack, at, tells } = setup(['c', 'd', 'e', 'f']);
    at(100);
    duty.step();
    ack(['c', 'd', 'e', 'f'], 1);
    // The cut (2+3): d, e, f stop acknowledging; c, beside the leader, goes on.
    let t = 200;
    for (; t <= 12_000; t += 500) {
      at(t);
      ack(['c'], 1);
      duty.step();
    }
    expect(leadership.leads).toBe(1);
    expect(duty.actingTerm()).toBeNull(); // 2 of 5 with itself: no lease
    // The heal: the majority's claim at term 2 reaches it; without a lease for long, it yields.
    members.set('d', record('d', { startedAt: 20, term: 2, leads: 2 }));
    at(t);
    duty.step();
    expect(leadership.leader).toMatchObject({ peerId: 'd', term: 2 });
    expect(tells()).toEqual(['tell c']);
  });

  it('a re-bid above a higher claim, lease held, is no step-down: nobody is told', () => {
    const { duty, leadership, members, ack, at, tells } = setup();
    at(100);
    duty.step();
    ack(['c', 'd'], 1);
    members.set('x', record('x', { startedAt: -5, term: 2, leads: 2 }));
    at(200);
    duty.step();
    expect(leadership.leads).toBe(3);
    expect(tells()).toEqual([]);
  });

  it('a leader nobody acknowledged within the lease window tells nobody', () => {
    const { duty, leadership, ack, at, tells } = setup();
    at(100);
    duty.step();
    ack(['c', 'd'], 1);
    at(5000); // the acks are 4.9 s old, the window 3 s
    leadership.retire();
    duty.step();
    expect(leadership.leads).toBeNull();
    expect(tells()).toEqual([]);
  });
});

describe('LeaderDuty: a claim is told to the members next in line', () => {
  function line() {
    const log: string[] = [];
    const f = dutyFixture({
      self: 'b',
      members: [
        record('e', { startedAt: 30 }),
        record('r', { startedAt: 5, retiring: true }),
        record('c', { startedAt: 10 }),
        record('d', { startedAt: 20 }),
      ],
      leaseTimeout: 3000,
      counted: () => 0,
      announce: () => log.push('announce'),
      tellSuccessors: (peers) => log.push(`next ${peers.join(',')}`),
    });
    return { ...f, log, nexts: () => log.filter((l) => l.startsWith('next')) };
  }

  it('once per claim, after the announcement, to the two oldest that may lead', () => {
    const { duty, leadership, members, ack, at, log, nexts } = line();
    at(100);
    duty.step();
    expect(leadership.leads).toBe(1);
    expect(log).toEqual(['announce', 'next c,d']);
    ack(['c', 'd', 'e'], 1);
    for (const t of [300, 500, 700]) {
      at(t);
      duty.step();
    }
    expect(nexts()).toEqual(['next c,d']);
    // A re-bid is a claim of a new term: told again.
    members.set('x', record('x', { startedAt: -5, term: 2, leads: 2 }));
    at(900);
    duty.step();
    expect(leadership.leads).toBe(3);
    expect(nexts()).toEqual(['next c,d', 'next x,c']);
  });

  it('a follower tells nobody', () => {
    const { duty, leadership, members, at, nexts } = line();
    members.set('a', record('a', { startedAt: -1, term: 1, leads: 1 }));
    at(100);
    duty.step();
    expect(leadership.leader).toMatchObject({ peerId: 'a', term: 1 });
    expect(nexts()).toEqual([]);
  });
});
