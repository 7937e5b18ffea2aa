import { afterEach, describe, expect, it, vi } from 'vitest';
import { actWindow } from '../agent/leadership/lease.ts';
import { WaitOut, waitLeft } from '../agent/leadership/wait-out.ts';
import { LoadExchange } from '../agent/load/exchange.ts';
import { RELAY_CLOCK_SKEW } from '../agent/load/relay-up.ts';
import type { ProbeFrame } from '../shared/wire/probe.ts';
import { dutyFixture } from './election-duty-fixture.ts';
import { memberRecord as record } from './helpers/records.ts';

/**
 * Issue 15, I1/I3: a new leader waits out its predecessor's acting window. A follower that
 * acknowledged leader A at s names no term of another leader B before s + actWindow +
 * RELAY_CLOCK_SKEW (its reports still carry its metrics, naming term 0), and names it at once when
 * that wait ends; a new leader counts itself towards acting only after the same wait. Pure: fake
 * clocks and timers.
 */

const LOAD_INTERVAL = 2_000;
const LEASE = 3 * LOAD_INTERVAL;
const ACT = actWindow(LOAD_INTERVAL);
const WAIT = ACT + RELAY_CLOCK_SKEW;
const T0 = 1_700_000_000_000;

afterEach(() => vi.useRealTimers());

describe('waitLeft: the promise as a rule', () => {
  it('no acknowledgement yet, or the same leader (a new term of its reign): no wait', () => {
    expect(waitLeft(null, 'B', 0, WAIT)).toBe(0);
    expect(waitLeft({ peerId: 'B', at: 100 }, 'B', 101, WAIT)).toBe(0);
  });

  it('another leader: not until the clock is past the acknowledgement + actWindow + skew', () => {
    const a = { peerId: 'A', at: 1_000 };
    expect(waitLeft(a, 'B', 1_000, WAIT)).toBe(WAIT + 1);
    expect(waitLeft(a, 'B', 1_000 + WAIT, WAIT)).toBe(1);
    expect(waitLeft(a, 'B', 1_000 + WAIT + 1, WAIT)).toBe(0);
  });

  it('WaitOut notes only what it lets through; a leader that stopped leading names the next one at once', () => {
    let now = 0;
    const w = new WaitOut({ clock: () => now, waitMs: WAIT });
    expect(w.name('A')).toBe(true); // acknowledges A at 0
    now = 500;
    expect(w.name('B')).toBe(false);
    expect(w.last).toEqual({ peerId: 'A', at: 0 });
    now = WAIT + 1;
    expect(w.name('B')).toBe(true);
    expect(w.name('B')).toBe(true); // B again (a re-bid's term too)
    // Its own reign is no acknowledgement: a leader leads while it names nobody, and stops acting
    // when it stops leading (it yields without its lease, or retiring), so it names C at once.
    now = 60_000;
    expect(w.left('C')).toBe(0);
  });
});

/** A follower's exchange (reports straight to the leader, no relay tree) and the leader's, on one fake clock. */
function timeline() {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  const waitOut = new WaitOut({ clock: () => Date.now(), waitMs: WAIT });
  let follows = { peerId: 'A', term: 1 };
  const sent: Array<{ to: string; term: number; at: number | undefined; sentAt: number }> = [];
  const leaderB = new LoadExchange({
    self: () => 'B',
    now: () => Date.now(),
    loadInterval: 2_000,
    leader: () => ({ peerId: 'B', term: 2 }),
    metrics: () => ({}),
    send: async () => undefined,
    memberIds: () => ['F'],
    maxMembers: 10,
  });
  const follower = new LoadExchange({
    self: () => 'F',
    now: () => Date.now(),
    loadInterval: 2_000,
    leader: () => follows,
    metrics: () => ({ load: 1 }),
    send: async (to, frame: ProbeFrame) => {
      if (frame.t !== 'load') return;
      sent.push({ to, term: frame.term, at: frame.at, sentAt: Date.now() });
      if (to === 'B') leaderB.onReport('F', frame);
    },
    memberIds: () => ['A', 'B'],
    maxMembers: 10,
    waitOut,
  });
  const follow = (l: typeof follows) => {
    follows = l;
  };
  const ackers = () => leaderB.book.ackers(2, Date.now(), LEASE);
  return { follower, leaderB, sent, follow, ackers, waitOut };
}

describe('the follower promise on a timeline', () => {
  it('acked A at s; B claims; no acknowledgement of B before s + actWindow + skew, one at once after', async () => {
    const t = timeline();
    t.follower.start();
    await vi.advanceTimersByTimeAsync(2_000); // s = T0 + 2 s: a report naming A's term
    const s = T0 + 2_000;
    expect(t.sent).toEqual([{ to: 'A', term: 1, at: s, sentAt: s }]);
    await vi.advanceTimersByTimeAsync(300);
    t.follow({ peerId: 'B', term: 2 }); // B claimed; the agent reports at once (onFollow)
    await t.follower.tick();
    expect(t.sent.at(-1)).toMatchObject({ to: 'B', term: 0 }); // its metrics, no acknowledgement
    expect(t.leaderB.book.get('F')?.metrics).toEqual({ load: 1 });
    // Every regular report until the wait ends names no term of B.
    await vi.advanceTimersByTimeAsync(s + WAIT - Date.now());
    // (at +2.3 s on following B, then the ticks at +4 s and +6 s = s + WAIT, the wait's last moment)
    expect(t.sent.filter((x) => x.to === 'B').map((x) => x.term)).toEqual([0, 0, 0]);
    expect(t.ackers()).toEqual([]);
    // Right after: a report naming B's term, at once (s + WAIT + 1), not at the next tick (T0 + 8 s).
    await vi.advanceTimersByTimeAsync(1);
    expect(t.sent.at(-1)).toEqual({ to: 'B', term: 2, at: s + WAIT + 1, sentAt: s + WAIT + 1 });
    expect(t.ackers()).toEqual(['F']);
    t.follower.stop();
  });

  it('a new term of the same leader (a re-bid) is acknowledged at once', async () => {
    const t = timeline();
    await t.follower.tick();
    t.follow({ peerId: 'A', term: 3 });
    await vi.advanceTimersByTimeAsync(10);
    await t.follower.tick();
    expect(t.sent.map((x) => [x.to, x.term])).toEqual([
      ['A', 1],
      ['A', 3],
    ]);
  });

  it('the leader stamps a report at its sample time (capped at arrival); a report without one at arrival', () => {
    const t = timeline();
    const arrival = Date.now();
    const late: ProbeFrame = { t: 'load', term: 2, metrics: {}, at: arrival - LEASE - 1 };
    t.leaderB.onReport('F', late);
    expect(t.ackers()).toEqual([]); // held back in transit longer than the lease: it counts for nothing
    t.leaderB.onReport('G', { t: 'load', term: 2, metrics: {}, at: arrival + 5_000 });
    expect(t.leaderB.book.get('G')?.at).toBe(arrival); // a clock ahead: no later than it arrived
    t.leaderB.onReport('H', { t: 'load', term: 2, metrics: {} }); // a previous release
    expect(t.leaderB.book.get('H')?.at).toBe(arrival);
  });
});

describe('the new leader counts itself only after its own wait-out', () => {
  function leaderB(ackWait: number, lease = LEASE, wait = WAIT) {
    let clock = 0;
    const waitOut = new WaitOut({ clock: () => clock, waitMs: wait });
    waitOut.name('A'); // b's last report named the old leader A at 0
    const f = dutyFixture({
      self: 'b',
      members: [record('c', { startedAt: 10 }), record('d', { startedAt: 20 })],
      leaseTimeout: lease,
      actWindow: Math.min(ACT, lease),
      counted: () => 0,
      selfCounts: () => waitOut.left('b') === 0,
      ackWait,
    });
    const at = (t: number) => {
      clock = t;
      f.at(t);
    };
    return { ...f, at };
  }

  it('one acknowledgement of 3 members is a majority only once b counts itself (after 0 + actWindow + skew)', () => {
    const b = leaderB(WAIT);
    b.at(100);
    b.duty.step();
    expect(b.leadership.leads).toBe(1);
    b.at(200);
    b.ack(['c'], 1); // c had not acknowledged A (or has waited it out)
    b.duty.step();
    expect(b.duty.actingTerm()).toBeNull();
    b.at(WAIT);
    b.ack(['c'], 1);
    expect(b.duty.actingTerm()).toBeNull();
    b.at(WAIT + 1);
    b.ack(['c'], 1);
    expect(b.duty.actingTerm()).toBe(1);
  });

  it('followers whose first acknowledgements come after their wait-out count at once (ackWait)', () => {
    // Short loadIntervals (500 ms, tests): the acting window is the lease (1.5 s) and the wait
    // (2.5 s) outlasts it, so a follower's first acknowledgement of b may come more than the lease
    // after b's claim. At the defaults the wait (4 s) is shorter than the lease (6 s).
    const lease = 1_500;
    const wait = actWindow(500) + RELAY_CLOCK_SKEW;
    const b = leaderB(wait, lease, wait);
    b.at(100);
    b.duty.step();
    b.at(wait + 50); // c and d waited out A too: their first reports naming term 1
    b.ack(['c', 'd'], 1);
    expect(b.duty.actingTerm()).toBe(1);
    // Without ackWait they are a run begun more than leaseTimeout after the reign began (a heal's
    // burst, lease.ts ackCounts) and would count only after a run of leaseTimeout more.
    const old = leaderB(0, lease, wait);
    old.at(100);
    old.duty.step();
    old.at(wait + 50);
    old.ack(['c', 'd'], 1);
    expect(old.duty.actingTerm()).toBeNull();
  });
});
