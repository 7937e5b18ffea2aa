import { describe, expect, it } from 'vitest';
import {
  type Candidate,
  type ElectionInput,
  type ElectionState,
  initialElection,
  stepElection,
} from '../agent/leader/election.ts';

/**
 * Every leader-elected event names the rule that made this node claim or follow (issue 15: after
 * a heal nobody could tell which rule fired at each self-claim). One case per reason.
 */

const NOW = 10_000;

/** A node started at `startedAt` that follows (or, when `leads`, is) `leader` at `term`. */
function following(leader: string, term: number, o: { self?: string; leads?: boolean; startedAt?: number } = {}) {
  const self = o.self ?? 'b';
  const state: ElectionState = {
    ...initialElection(o.startedAt ?? (self === 'a' ? 0 : 10)),
    term,
    leads: o.leads ? term : null,
    leader: { peerId: leader, term, since: 0 },
    leadingSince: o.leads ? 0 : null,
  };
  return state;
}

function elected(state: ElectionState, alive: Candidate[], extra: Partial<ElectionInput> = {}, self = 'b') {
  const r = stepElection(state, {
    self: { peerId: self },
    alive,
    seenTerm: 0,
    now: NOW,
    settleAfter: 1000,
    leaseTimeout: 3000,
    ...extra,
  });
  return r.events.filter((e) => e.type === 'leader-elected').map((e) => `${e.peerId}@${e.term}:${e.reason}`);
}

const a = (leads?: number, term = leads ?? 1): Candidate => ({ peerId: 'a', startedAt: 0, term, leads });
const c = (leads: number): Candidate => ({ peerId: 'c', startedAt: 20, term: leads, leads });

describe('leader-elected says which rule fired', () => {
  it('no-leader-heard: the oldest claims once nobody has claimed for claimDelay', () => {
    expect(elected(initialElection(0), [], {}, 'a')).toEqual(['a@1:no-leader-heard']);
  });

  it('leader-claims: a node that follows no one follows the best claim', () => {
    expect(elected(initialElection(10), [a(1)])).toEqual(['a@1:leader-claims']);
  });

  it('leader-dead: the leader followed is gone from the view, the best other claim is followed', () => {
    expect(elected(following('a', 1), [c(2)])).toEqual(['c@2:leader-dead']);
  });

  it('higher-term-seen: the leader followed re-bid; a leased leader bids above a better claim', () => {
    expect(elected(following('a', 1), [a(3)])).toEqual(['a@3:higher-term-seen']);
    expect(elected(following('a', 1, { self: 'a', leads: true }), [c(2)], { leaseHeld: true }, 'a')).toEqual([
      'a@3:higher-term-seen',
    ]);
  });

  it('lease-expired, older-claim, retiring: a leader yields and follows the better claim', () => {
    expect(elected(following('a', 1, { self: 'a', leads: true }), [c(2)], {}, 'a')).toEqual(['c@2:lease-expired']);
    expect(elected(following('b', 2, { leads: true }), [a(2)])).toEqual(['a@2:older-claim']);
    expect(elected(following('a', 1, { self: 'a', leads: true }), [c(2)], { retiring: true }, 'a')).toEqual([
      'c@2:retiring',
    ]);
  });

  it('contested: a leader whose term was contested claims one above it', () => {
    const state = { ...following('a', 2, { self: 'a', leads: true }), contested: true };
    expect(elected(state, [], {}, 'a')).toEqual(['a@3:contested']);
  });
});
