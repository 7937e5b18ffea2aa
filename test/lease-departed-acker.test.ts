import { describe, expect, it } from 'vitest';
import type { LeaderEvent } from '../agent/leader/election.ts';
import { LeaderDuty } from '../agent/leadership/duty.ts';
import { actWindow } from '../agent/leadership/lease.ts';
import { WaitOut } from '../agent/leadership/wait-out.ts';
import { Leadership } from '../agent/leadership.ts';
import { LoadBook } from '../agent/load/book.ts';
import { RELAY_CLOCK_SKEW } from '../agent/load/relay-up.ts';
import type { MemberLiveness } from '../agent/membership/swim/types.ts';
import { createAgentMetrics } from '../agent/monitor/prom.ts';
import { memberRecord as record } from './helpers/records.ts';

/**
 * Finding L (fault suite, 2+3 for 45 s, session 22): b (local-2), cut off with its leader a
 * (local-1), followed a until a left (the majority's leader was terminating both). b claimed
 * term 2 and did not act then: its wait-out kept it from counting itself. 31 ms later it acted:
 * a, stepping down for b's claim, acknowledged term 2 at once (a leader names no one, so its
 * wait-out is empty), and a, left in b's view, counted as an acknowledgement but not as a member:
 * 1 of a pool of 1. Pure: the agent's LeaderDuty, WaitOut and LoadBook on one fake clock, at the
 * suite's loadInterval (500 ms).
 */

const LOAD_INTERVAL = 500;
const LEASE = 3 * LOAD_INTERVAL;
const WAIT = actWindow(LOAD_INTERVAL) + RELAY_CLOCK_SKEW;

function lone() {
  let now = 0;
  const a = record('a', { startedAt: -1, term: 1, leads: 1 });
  let aState: MemberLiveness['state'] = 'alive';
  const load = new LoadBook(16);
  const waitOut = new WaitOut({ clock: () => now, waitMs: WAIT });
  const events: LeaderEvent[] = [];
  const leadership = new Leadership({
    selfPeerId: () => 'b',
    startedAt: 0,
    settleAfter: 0,
    leaseTimeout: LEASE,
    claimDelay: 62,
  });
  const duty = new LeaderDuty({
    leadership,
    now: () => now,
    members: () => [{ record: a, liveness: { id: 'a', incarnation: 0, state: aState, since: 0 } }],
    load,
    counted: () => 0,
    leaseTimeout: LEASE,
    actWindow: actWindow(LOAD_INTERVAL),
    barred: () => false,
    selfCounts: () => waitOut.left('b') === 0,
    ackWait: WAIT,
    metrics: createAgentMetrics({ membersByState: () => ({ alive: 0, suspect: 0, dead: 0, left: 0 }) }),
    emit: (e) => events.push(e),
    announce: () => undefined,
  });
  return {
    duty,
    leadership,
    waitOut,
    events,
    at: (t: number) => (now = t),
    leave: () => (aState = 'left'),
    ack: (peer: string, term: number) => load.report(peer, { metrics: {}, at: now, term }),
  };
}

describe('a lone minority member whose leader left (finding L)', () => {
  it('a departed leader acknowledging its claim at once is no majority of a pool of one', () => {
    const b = lone();
    b.at(0);
    b.duty.step();
    expect(b.leadership.leader?.peerId).toBe('a');
    // b's load reports name a every loadInterval until a leaves (exchange.ts tick, naming.ts).
    for (let t = 0; t <= 24_500; t += LOAD_INTERVAL) {
      b.at(t);
      expect(b.waitOut.name('a')).toBe(true);
    }
    b.at(24_834);
    b.leave();
    b.at(24_837);
    b.duty.step();
    expect(b.leadership.leader).toBeNull();
    b.at(24_907);
    b.duty.step();
    expect(b.events.map((e) => e.type)).toEqual(['leader-elected', 'leader-lost', 'leader-elected']);
    expect(b.leadership.leads).toBe(2);
    // Its own wait-out holds: it does not act at its claim (the log: no decision at the claim).
    expect(b.waitOut.left('b')).toBeGreaterThan(0);
    expect(b.duty.actingTerm()).toBeNull();
    // a steps down for b's claim and follows it: its report names term 2 at once.
    b.at(24_920);
    b.ack('a', 2);
    b.at(24_938);
    b.duty.step();
    expect(b.duty.actingTerm()).toBeNull();
    // Until its wait-out ends: b counts itself, 2 of a pool of 2.
    b.at(24_500 + WAIT);
    b.ack('a', 2);
    expect(b.duty.actingTerm()).toBeNull();
    b.at(24_500 + WAIT + 1);
    b.ack('a', 2);
    expect(b.duty.actingTerm()).toBe(2);
  });
});
