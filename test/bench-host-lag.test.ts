import { describe, expect, it } from 'vitest';
import { untilHostsQuiet, windowDelay } from './bench/lib/host-lag.ts';

/** A pool whose hosts report the given p99 delays, one window per call after the first. */
function poolOf(windows: number[][]) {
  let calls = 0;
  return {
    lag: async () => {
      const w = calls === 0 ? [] : (windows[Math.min(calls - 1, windows.length - 1)] ?? []);
      calls++;
      return w.map((p99Ms) => ({ p99Ms }));
    },
  };
}
const sleep = async () => undefined;

describe('bench untilHostsQuiet(): a crash waits for quiet host loops', () => {
  it('returns at the first window in which every host is under the threshold', async () => {
    const r = await untilHostsQuiet(
      poolOf([
        [400, 20],
        [150, 30],
        [60, 40],
      ]),
      { sleep },
    );
    expect(r).toEqual({ waitedMs: 3000, p99Ms: [60, 40] });
  });

  it('gives up after maxMs and reports the loop delay it crashes with', async () => {
    const r = await untilHostsQuiet(poolOf([[900]]), { sleep, maxMs: 5000 });
    expect(r).toEqual({ waitedMs: 5000, p99Ms: [900] });
  });
});

/** A histogram of `samples` (ms) as monitorEventLoopDelay keeps it (ns). */
function histogram(samples: number[]) {
  const ns = samples.map((ms) => ms * 1e6).sort((a, b) => a - b);
  return {
    count: ns.length,
    mean: ns.length ? ns.reduce((a, b) => a + b, 0) / ns.length : Number.NaN,
    max: ns.at(-1) ?? 0,
    percentile: (p: number) => ns[Math.min(ns.length - 1, Math.ceil((p / 100) * ns.length) - 1)] ?? 0,
  };
}

describe('bench windowDelay(): a blocked host loop is not a quiet one', () => {
  it('reads a turning loop from its samples', () => {
    const r = windowDelay(histogram([...Array(48).fill(20), 60]), 1000, 20);
    expect(r.p99Ms).toBe(60);
    expect(r.maxMs).toBe(60);
  });

  it('reports a window without a sample as blocked for that long, not as 0 (issue 13: p99 0 at 7-9 s crashes)', () => {
    const r = windowDelay(histogram([]), 1010, 20);
    expect(r.p99Ms).toBe(970);
    expect(r.maxMs).toBe(970);
  });

  it('counts a block at the window start, which leaves no sample of its own, from the time the samples miss', () => {
    // 800 ms blocked right after the reset (its interval dropped), then 10 samples of 20 ms.
    const r = windowDelay(histogram(Array(10).fill(20)), 1000, 20);
    expect(r.p99Ms).toBe(760);
    expect(r.meanMs).toBe(20);
  });
});
