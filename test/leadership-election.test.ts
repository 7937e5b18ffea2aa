import { describe, expect, it } from 'vitest';
import type { RefusedTerm } from '../agent/leader/election.ts';
import { MAX_TERM, MAX_TERM_STEP, termLimit } from '../agent/leader/terms.ts';
import { Leadership } from '../agent/leadership.ts';
import { memberRecord as record } from './helpers/records.ts';

/** The agent's Leadership as agent.ts builds it, on an injected clock. */
function setup(self = 'a', startedAt = 0) {
  const refused: RefusedTerm[] = [];
  const leadership = new Leadership({
    selfPeerId: () => self,
    startedAt,
    settleAfter: 500,
    claimDelay: 200,
    leaseTimeout: 3000,
    onRefused: (r) => refused.push(r),
  });
  return { leadership, refused };
}

describe('Leadership shell: bounded terms, lease-aware election', () => {
  it('terms are bounded: within highest + maxTermStep accepted, beyond or unsafe refused, each reported once', () => {
    const { leadership, refused } = setup();
    leadership.step([], 1000); // alone: leads term 1 after settle + claimDelay
    leadership.step([], 1300);
    expect(leadership.leads).toBe(1);
    expect(leadership.observeTerm(1 + MAX_TERM_STEP, 'x')).toBe(true);
    leadership.step([], 1400);
    expect(leadership.term).toBe(1 + MAX_TERM_STEP);
    for (const t of [leadership.term + MAX_TERM_STEP + 1, Number.MAX_SAFE_INTEGER, 2 ** 53, -3, 0.5])
      expect(leadership.observeTerm(t, 'x')).toBe(false);
    expect(leadership.observeTerm(Number.MAX_SAFE_INTEGER, 'x')).toBe(false); // again: counted once
    expect(leadership.refusedTerms).toBe(5);
    expect(refused.map((r) => r.term)).toEqual([34, Number.MAX_SAFE_INTEGER, 2 ** 53, -3, 0.5]);
    // Records too: a claim of 2^53−1 is neither followed nor remembered.
    leadership.step([record('x', { term: Number.MAX_SAFE_INTEGER, leads: Number.MAX_SAFE_INTEGER })], 1500);
    expect(leadership.leader).toMatchObject({ peerId: 'a', term: 1 });
    expect(leadership.term).toBe(1 + MAX_TERM_STEP);
  });

  it('never beyond the safe-integer range, even stepping 16 at a time', () => {
    expect(termLimit(MAX_TERM - 3, [])).toBe(MAX_TERM);
    expect(Number.isSafeInteger(MAX_TERM + 1)).toBe(true);
    expect(termLimit(5, [Number.MAX_SAFE_INTEGER, 2 ** 60, 7, 7])).toBe(7 + MAX_TERM_STEP);
    expect(termLimit(0, [40])).toBe(40 + MAX_TERM_STEP); // fresh: its only peer
  });

  it('a leader holding its lease keeps leading beside a hostile claim; without it, it yields only to a higher term', () => {
    const { leadership } = setup('b', 10);
    let hostile = record('x', { startedAt: -1e9, term: 2, leads: 2 });
    leadership.step([record('c', { startedAt: 20 })], 1000);
    leadership.step([record('c', { startedAt: 20 })], 1300);
    expect(leadership.leads).toBe(1);
    let now = 1300;
    for (; now < 20_000; now += 250)
      leadership.step([record('c', { startedAt: 20 }), hostile], now, { leaseHeld: true });
    // It bid above the claim (terms only go up) and kept leading.
    expect(leadership.leader).toMatchObject({ peerId: 'b', term: 3 });
    // The lease is lost (a partition): a claim below its term never wins, however long.
    const events = [];
    for (const end = now + 10_000; now < end; now += 250)
      events.push(...leadership.step([hostile], now, { leaseHeld: false }));
    expect(events).toEqual([]);
    // A higher one wins after leaseTimeout.
    hostile = record('x', { startedAt: -1e9, term: 4, leads: 4 });
    for (const end = now + 500; now < end; now += 250) events.push(...leadership.step([hostile], now));
    expect(events.map((e) => e.type)).toEqual(['leader-stepped-down', 'leader-elected']);
    expect(leadership.leader).toMatchObject({ peerId: 'x', term: 4 });
  });

  it('a follower keeps a suspect leader and does not claim; a dead one is replaced after claimDelay', () => {
    const { leadership } = setup('b', 10);
    const leader = record('a', { startedAt: 0, term: 1, leads: 1 });
    leadership.step([leader], 1000);
    expect(leadership.leader).toMatchObject({ peerId: 'a', term: 1 });
    expect(leadership.step([], 1100, { suspect: [leader] })).toEqual([]);
    expect(leadership.step([], 5000, { suspect: [leader] })).toEqual([]);
    // Now dead (neither alive nor suspect): lost at once, claimed only after claimDelay.
    expect(leadership.step([], 5100).map((e) => e.type)).toEqual(['leader-lost']);
    expect(leadership.step([], 5200)).toEqual([]);
    expect(leadership.step([], 5300)).toEqual([
      { type: 'leader-elected', peerId: 'b', term: 2, at: 5300, self: true, reason: 'no-leader-heard' },
    ]);
  });
});
