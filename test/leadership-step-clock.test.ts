import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StepClock } from '../agent/leadership/step-clock.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';
import { dutyFixture } from './election-duty-fixture.ts';
import { memberRecord as record } from './helpers/records.ts';

// The agent's defaults (compose/leadership.ts): heartbeatInterval 1000 ms.
const FAST = 250;
const SLOW = 1000;
const GAP = 125;

/**
 * Node `b` on fake time, driven as the agent drives it ('beat': the step clock, whose backstop is
 * the agent's 1 s beat, compose/components.ts) or by the fixed 250 ms ticker it replaced
 * ('ticker'). `poke` is what a member event or a kept record does in the agent
 * (compose/members.ts onViewChange).
 */
function node(drive: 'ticker' | 'beat', members: Heartbeat[]) {
  const f = dutyFixture({ self: 'b', members, leaseTimeout: 6000, claimDelay: FAST, counted: () => 0 });
  let rounds = 0;
  const step = () => {
    f.at(Date.now());
    rounds++;
    f.duty.step();
  };
  const clock = new StepClock({
    step,
    urgent: () => f.leadership.leads !== null || f.leadership.leader === null,
    now: () => Date.now(),
    fastMs: FAST,
    minGapMs: GAP,
    onError: (err) => {
      throw err;
    },
  });
  let ticker: NodeJS.Timeout | undefined;
  if (drive === 'ticker') ticker = setInterval(step, FAST);
  else {
    clock.start();
    ticker = setInterval(() => clock.beat(), SLOW);
  }
  return {
    ...f,
    poke: () => clock.poke(),
    beat: () => clock.beat(),
    rounds: () => rounds,
    stop: () => {
      clock.stop();
      clearInterval(ticker);
    },
  };
}

/** A pool led by `a` (oldest), followed by `b` (next in line) and `c`. */
const led = () => [record('a', { startedAt: -10, term: 1, leads: 1 }), record('c', { startedAt: 10 })];

/** Advances 1 ms at a time until `done`, at most `ms`; the time it became true (NaN: never). */
function until(done: () => boolean, ms: number): number {
  for (let i = 0; i <= ms; i++) {
    if (done()) return Date.now();
    vi.advanceTimersByTime(1);
  }
  return Number.NaN;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('StepClock: the election steps on a change of the view', () => {
  it("a leader's death: the next in line claims claimDelay after the event, never later than with the 250 ms ticker", () => {
    for (const death of [1000, 1001, 1060, 1124, 1200, 1249, 1250, 1313, 2999]) {
      vi.setSystemTime(0);
      const now = node('beat', led());
      const old = node('ticker', led());
      vi.advanceTimersByTime(death);
      expect(now.leadership.leader?.peerId).toBe('a');
      expect(old.leadership.leader?.peerId).toBe('a');
      for (const n of [now, old]) {
        n.members.delete('a'); // SWIM declared it dead: a member event
        n.poke();
      }
      const claimed = until(() => now.leadership.leads !== null && old.leadership.leads !== null, 1000);
      expect(claimed).not.toBeNaN();
      const at = { now: now.events.at(-1)?.at ?? 0, old: old.events.at(-1)?.at ?? 0 };
      expect(now.leadership.leads).toBe(2);
      expect(at.now).toBeLessThanOrEqual(at.old);
      // A round within GAP before the death (the agent's beat's) delays the poke's round to GAP after it.
      const lastRound = Math.floor(death / SLOW) * SLOW;
      expect(at.now).toBe(Math.max(death, lastRound + GAP) + FAST);
      now.stop();
      old.stop();
    }
  });

  it("a new leader's claim is followed when its record arrives, not at the next beat", () => {
    const n = node('beat', led());
    vi.advanceTimersByTime(1500);
    n.members.set('a', record('a', { startedAt: -10, term: 1 })); // a stepped down (retiring)...
    n.members.set('c', record('c', { startedAt: 10, term: 2, leads: 2 })); // ...and c claimed term 2
    n.poke();
    vi.advanceTimersByTime(0);
    expect(n.leadership.leader).toMatchObject({ peerId: 'c', term: 2, since: 1500 });
    n.stop();
  });

  it("a follower of a live leader steps on the agent's beat only, in that same wake-up", () => {
    const n = node('beat', led());
    vi.advanceTimersByTime(10_000);
    // 250 ms (it follows a), then the agent's beat at 1000, 2000, … 10000
    expect(n.rounds()).toBe(11);
    expect(n.leadership.leader?.peerId).toBe('a');
    vi.advanceTimersByTime(1); // nothing left armed for later in the second
    expect(vi.getTimerCount()).toBe(1); // the agent's beat alone
    // A leader's death is still acted on at the event: the claim comes FAST later.
    vi.advanceTimersByTime(499); // 10500
    n.members.delete('a');
    n.poke();
    const claimed = until(() => n.leadership.leads !== null, 1000);
    expect(claimed).toBe(10_500 + FAST);
    n.stop();
  });

  it('the beat runs no round within GAP of the last one', () => {
    const n = node('beat', led());
    vi.advanceTimersByTime(250); // round 1 at 250
    vi.advanceTimersByTime(100); // 350
    n.beat();
    expect(n.rounds()).toBe(1);
    vi.advanceTimersByTime(25); // 375
    n.beat();
    expect(n.rounds()).toBe(2);
    n.stop();
    n.beat();
    expect(n.rounds()).toBe(2);
  });

  it("a leader's own 250 ms beat is all it steps on: the agent's beat adds no round", () => {
    const n = node('beat', [record('c', { startedAt: 10 }), record('d', { startedAt: 20 })]);
    vi.advanceTimersByTime(10_000);
    expect(n.leadership.leads).toBe(1);
    expect(n.rounds()).toBe(40);
    n.stop();
  });

  it('a burst of changes is one round, no sooner than GAP after the last; none after stop', () => {
    const n = node('beat', led());
    vi.advanceTimersByTime(300); // rounds: 250
    expect(n.rounds()).toBe(1);
    for (let i = 0; i < 10; i++) n.poke();
    vi.advanceTimersByTime(74); // 374: GAP after 250 not reached yet
    expect(n.rounds()).toBe(1);
    vi.advanceTimersByTime(1); // 375
    expect(n.rounds()).toBe(2);
    vi.advanceTimersByTime(500);
    n.poke(); // 875: long after the last round, at once
    vi.advanceTimersByTime(0);
    expect(n.rounds()).toBe(3);
    n.stop();
    n.poke();
    vi.advanceTimersByTime(5000);
    expect(n.rounds()).toBe(3);
  });

  it('a round that throws is reported and the clock keeps going', () => {
    const errors: string[] = [];
    let calls = 0;
    const clock = new StepClock({
      step: () => {
        calls++;
        throw new Error('boom');
      },
      urgent: () => true,
      now: () => Date.now(),
      fastMs: FAST,
      minGapMs: GAP,
      onError: (err) => errors.push(err.message),
    });
    clock.start();
    vi.advanceTimersByTime(1000);
    clock.stop();
    expect(calls).toBe(4);
    expect(errors).toEqual(['boom', 'boom', 'boom', 'boom']);
  });
});
