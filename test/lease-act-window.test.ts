import { describe, expect, it } from 'vitest';
import { actWindow, freshAcks } from '../agent/leadership/lease.ts';
import { dutyFixture } from './election-duty-fixture.ts';
import { memberRecord as record } from './helpers/records.ts';

/**
 * Issue 15, I1/I3 (ARCHITECTURE.md "Wait-out"): acting needs a strict majority of acknowledgements
 * sampled within the acting window, shorter than the lease; the lease alone (what the election's
 * yield rules read) keeps a leader leading but never lets it act. Pure: a fake clock.
 */

const LEASE = 6_000;
const ACT = 3_000;

describe('actWindow: loadInterval and half of it, at least 1 s, never above the lease', () => {
  it('is 1.5 loadIntervals at the default and above, the lease itself for short intervals', () => {
    expect(actWindow(2_000)).toBe(3_000);
    expect(actWindow(10_000)).toBe(15_000);
    expect(actWindow(1_000)).toBe(2_000);
    // Tests' 500 ms: a second of slack would exceed 3 × 500, so the lease is the window.
    expect(actWindow(500)).toBe(1_500);
  });

  it('freshAcks keeps the acknowledgements sampled at or after `since`', () => {
    const acking = new Map([
      ['c', 100],
      ['d', 200],
      ['e', 300],
    ]);
    expect([...freshAcks(acking, 200).keys()]).toEqual(['d', 'e']);
    expect(freshAcks(acking, 301).size).toBe(0);
  });
});

function leaderB(o: { members: string[]; selfCounts?: () => boolean }) {
  return dutyFixture({
    self: 'b',
    members: o.members.map((id, i) => record(id, { startedAt: 10 * (i + 1) })),
    leaseTimeout: LEASE,
    actWindow: ACT,
    counted: () => 0,
    ...(o.selfCounts ? { selfCounts: o.selfCounts } : {}),
  });
}

describe('LeaderDuty: acting within the acting window, leading within the lease', () => {
  it('a majority sampled more than actWindow ago keeps the lease but stops acting until fresh ones come', () => {
    const b = leaderB({ members: ['c', 'd'] });
    b.at(100);
    b.duty.step();
    expect(b.leadership.leads).toBe(1);
    b.ack(['c', 'd'], 1);
    expect(b.duty.actingTerm()).toBe(1);
    b.at(100 + ACT);
    expect(b.duty.actingTerm()).toBe(1);
    // Both acknowledgements older than the acting window, still inside the lease.
    b.at(101 + ACT);
    expect(b.duty.actingTerm()).toBeNull();
    b.duty.step();
    expect(b.leadership.leads).toBe(1);
    expect(b.duty.leaseHeldFor()).toBeGreaterThan(0);
    // One fresh acknowledgement and itself: 2 of 3, it acts again at once.
    b.at(200 + ACT);
    b.ack(['c'], 1);
    expect(b.duty.actingTerm()).toBe(1);
    // Past the lease with no report at all: neither leads with a lease nor acts.
    b.at(201 + ACT + LEASE);
    b.duty.step();
    expect(b.duty.actingTerm()).toBeNull();
    expect(b.duty.leaseHeldFor()).toBe(0);
  });

  it('a leader still waiting out its predecessor holds its lease but does not act on it', () => {
    let waiting = true;
    // 4 members: a quorum of 3 is c, d and b itself.
    const b = leaderB({ members: ['c', 'd', 'e'], selfCounts: () => !waiting });
    b.at(100);
    b.duty.step();
    b.ack(['c', 'd'], 1);
    b.duty.step();
    expect(b.duty.actingTerm()).toBeNull();
    b.at(500);
    b.duty.step();
    expect(b.duty.leaseHeldFor()).toBe(400);
    waiting = false;
    expect(b.duty.actingTerm()).toBe(1);
  });
});
