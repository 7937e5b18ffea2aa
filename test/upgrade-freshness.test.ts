import { describe, expect, it } from 'vitest';
import { MAX_PUSH_AGE, MAX_PUSH_AHEAD, pushAgeProblem } from '../shared/upgrade/freshness.ts';

/** How long a signed upgrade push is good for (shared/upgrade/freshness.ts), at injected times. */
describe('upgrade push freshness', () => {
  const now = Date.UTC(2026, 11, 5, 12);

  it('takes a push signed just now, or a little ahead of this clock', () => {
    expect(pushAgeProblem(now - 5_000, now)).toBeNull();
    expect(pushAgeProblem(now - MAX_PUSH_AGE, now)).toBeNull();
    expect(pushAgeProblem(now + MAX_PUSH_AHEAD, now)).toBeNull();
  });

  it('refuses a replay signed longer ago than an hour, naming how old it is', () => {
    expect(pushAgeProblem(now - MAX_PUSH_AGE - 1, now)).toMatch(/^signed 60 min ago/);
    expect(pushAgeProblem(now - 3 * 3_600_000, now)).toMatch(/^signed 180 min ago \(a push is good for 60 min/);
  });

  it('refuses a push dated well ahead of this clock', () => {
    expect(pushAgeProblem(now + MAX_PUSH_AHEAD + 60_000, now)).toBe("dated 6 min ahead of this agent's clock");
  });
});
