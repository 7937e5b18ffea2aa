import { describe, expect, it } from 'vitest';
import { dutyFixture } from './election-duty-fixture.ts';
import { memberRecord as record } from './helpers/records.ts';

function setup(counted: (term: number) => number = () => 0) {
  const f = dutyFixture({
    self: 'b',
    members: [record('c', { startedAt: 10 }), record('d', { startedAt: 20 })],
    leaseTimeout: 3000,
    counted,
  });
  return { ...f, ack: (peer: string, term: number) => f.ack([peer], term) };
}

describe('LeaderDuty: the lease across a re-bid', () => {
  it('a leader that bids above a higher claim keeps acting until its followers name the new term', () => {
    const { duty, leadership, members, ack, at } = setup();
    at(100);
    duty.step();
    expect(leadership.leads).toBe(1);
    ack('c', 1);
    ack('d', 1);
    expect(duty.actingTerm()).toBe(1);
    // A claim above its term (a healed minority, or a key holder): it bids above it at once...
    members.set('x', record('x', { startedAt: -5, term: 2, leads: 2 }));
    at(200);
    duty.step();
    expect(leadership.leads).toBe(3);
    // ...and keeps its lease: the acknowledgements of term 1 were sent to it as leader.
    expect(duty.actingTerm()).toBe(3);
    at(2000);
    ack('c', 3);
    ack('d', 3);
    at(4000); // term-1 acks are now older than the lease window; term-3 ones hold it
    duty.step();
    expect(duty.actingTerm()).toBe(3);
    // Without fresh acknowledgements of any term of the reign, the lease is gone.
    at(5100);
    expect(duty.actingTerm()).toBeNull();
  });

  it('a new reign starts afresh: acknowledgements of a term led before a step-down do not count', () => {
    const { duty, leadership, members, ack, at } = setup();
    at(100);
    duty.step();
    ack('c', 1);
    ack('d', 1);
    expect(duty.actingTerm()).toBe(1);
    // It loses the lease and, after leaseTimeout, yields to a higher claim.
    members.set('x', record('x', { startedAt: -5, term: 2, leads: 2 }));
    let t = 3200;
    for (; leadership.leads !== null && t < 10_000; t += 300) {
      at(t);
      duty.step();
    }
    expect(leadership.leader).toMatchObject({ peerId: 'x', term: 2 });
    // Late reports naming term 1 arrive; then x dies and b leads again, at term 3.
    ack('c', 1);
    ack('d', 1);
    members.delete('x');
    at(t);
    duty.step();
    expect(leadership.leads).toBe(3);
    expect(duty.actingTerm()).toBeNull();
    ack('c', 3);
    ack('d', 3);
    expect(duty.actingTerm()).toBe(3);
  });

  it('the pool size the providers listed still counts after a re-bid, before the scalers count the new term', () => {
    // The providers list 7 instances in term 1 (the scaler counted them); the view holds 4 others.
    const { duty, leadership, members, ack, at } = setup((term) => (term === 1 ? 7 : 0));
    members.set('e', record('e', { startedAt: 30 }));
    at(100);
    duty.step();
    for (const p of 'cde') ack(p, 1);
    expect(duty.actingTerm()).toBe(1); // 4 of 7
    members.set('x', record('x', { startedAt: -5, term: 2, leads: 2 }));
    at(200);
    duty.step();
    expect(leadership.leads).toBe(3);
    at(2500);
    ack('c', 3);
    ack('d', 3);
    at(3200); // e's acknowledgement expired: 3 of 7 is no majority, though it would be of the 5 in view
    expect(duty.actingTerm()).toBeNull();
  });
});
