import { describe, expect, it } from 'vitest';
import { actWindow } from '../agent/leadership/lease.ts';
import { WaitOut } from '../agent/leadership/wait-out.ts';
import { RELAY_CLOCK_SKEW } from '../agent/load/relay-up.ts';

/**
 * Issue 15, I1/I3: the follower's promise survives a restart. A follower that acknowledged leader
 * A at s and restarts (systemd: 2 s after a crash, at once on `systemctl restart`) still counts for
 * A until s + actWindow + skew; its new process must not acknowledge another leader B (nor count
 * itself, should it lead) before its own start + that wait. Pure: a fake clock.
 */

const WAIT = actWindow(2_000) + RELAY_CLOCK_SKEW;

describe('the wait-out across a restart', () => {
  it('a restarted agent names no leader, and does not count itself, until its start + the wait', () => {
    let now = 10;
    const w = new WaitOut({ clock: () => now, waitMs: WAIT, since: now });
    expect(w.name('B')).toBe(false);
    expect(w.left('self')).toBeGreaterThan(0);
    now = 10 + WAIT;
    expect(w.name('B')).toBe(false);
    now = 10 + WAIT + 1;
    expect(w.left('self')).toBe(0);
    expect(w.name('B')).toBe(true);
    expect(w.last).toEqual({ peerId: 'B', at: 10 + WAIT + 1 });
  });

  it('a new instance (no identity before) acknowledges its first leader at once', () => {
    const w = new WaitOut({ clock: () => 10, waitMs: WAIT });
    expect(w.name('B')).toBe(true);
  });
});
