import { describe, expect, it } from 'vitest';
import { type SimOptions, simulate } from '../scripts/simulate-membership.ts';

/** Five nodes' loops turn every 800 ms on average for 20 s (simulate/late.ts), beside other faults. */
const LATE: SimOptions = {
  ...{ n: 50, seconds: 60, loss: 0.01, latency: [5, 50], seed: 1 },
  ...{ kill: 5, stall: 5, join: 5, silent: 2, late: 5, lateMs: 800, lateSeconds: 20 },
};

describe('membership simulator: nodes whose timers run late (issue 13)', () => {
  it('a late loop accuses (almost) nobody, and kills and hangs are still detected', () => {
    const r = simulate(LATE);
    // Before probes timed by late timers became no evidence, the late nodes raised 13 suspicion
    // events of live members on this seed (now 3).
    expect(r.lateNodeSuspicionEvents).toBeLessThan(5);
    const { falseDeaths, detectionMs: kills, silentDetectionMs: hangs } = r;
    expect({ falseDeaths, killsMissed: kills.undetected, hangsMissed: hangs.undetected }).toEqual({
      falseDeaths: 0,
      killsMissed: 0,
      hangsMissed: 0,
    });
    expect(kills.max).toBeLessThan(5000);
    expect(hangs.max).toBeLessThan(20000);
  });
});
