import { describe, expect, it } from 'vitest';
import { simulate } from '../scripts/simulate-membership.ts';

describe('membership simulator (N = 50)', () => {
  it('detects a kill -9 everywhere within seconds, lets a stalled node refute, and converges a join', () => {
    const r = simulate({ n: 50, seconds: 30, loss: 0.01, latency: [5, 50], seed: 3, kill: 1, stall: 1, join: 1 });
    expect(r.detectionMs.undetected).toBe(0);
    expect(r.detectionMs.max).not.toBeNull();
    expect(r.detectionMs.max!).toBeLessThan(5000);
    expect(r.falseDeaths).toBe(0);
    expect(r.joinConvergenceMs.unconverged).toBe(0);
    expect(r.joinConvergenceMs.max!).toBeLessThan(3000);
    expect(r.bytesPerNodePerSecond.idle.sentMean).toBeGreaterThan(0);
  });

  it('is deterministic for a seed', () => {
    const o = {
      n: 50,
      seconds: 20,
      loss: 0.05,
      latency: [5, 50] as [number, number],
      seed: 9,
      kill: 1,
      stall: 2,
      join: 0,
    };
    const { wallClockMs: _a, ...a } = simulate(o);
    const { wallClockMs: _b, ...b } = simulate(o);
    expect(a).toEqual(b);
  });

  it('declares a stalled node dead when it stays silent far beyond the suspicion timeout', () => {
    // A stall of the whole run is a crash without refusal: timeout evidence must still converge.
    const r = simulate({
      n: 50,
      seconds: 40,
      loss: 0,
      latency: [5, 20],
      seed: 4,
      kill: 0,
      stall: 0,
      join: 0,
      silent: 1,
    });
    expect(r.silentDetectionMs.undetected).toBe(0);
    expect(r.silentDetectionMs.max!).toBeLessThan(20000);
  });
});
