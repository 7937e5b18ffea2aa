import { describe, expect, it } from 'vitest';
import { simulate } from '../scripts/simulate-membership.ts';

/**
 * Issue 13, stale views: a joiner must be held alive by every member within 5 s of its join, even
 * when its own announcements reach nobody (a startup storm: gossipsub has no mesh for it yet and
 * does not replay). Only the core's own paths are left: its join sync with one seed, and the
 * anti-entropy that follows news. Pure: the simulator runs the same core on a virtual clock.
 */
describe('a join spreads to the whole pool within 5 s through the core alone', () => {
  for (const seed of [1, 2, 3]) {
    it(`N=50, 1 % loss, 5 unannounced joiners (seed ${seed})`, () => {
      const r = simulate({
        n: 50,
        seconds: 30,
        loss: 0.01,
        latency: [5, 50],
        seed,
        kill: 0,
        stall: 0,
        join: 5,
        unannounced: true,
      });
      expect(r.joinConvergenceMs.unconverged).toBe(0);
      expect(r.joinConvergenceMs.max!).toBeLessThanOrEqual(5000);
      expect(r.falseDeaths).toBe(0);
    });
  }
});
