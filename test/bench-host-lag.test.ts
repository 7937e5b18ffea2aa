import { describe, expect, it } from 'vitest';
import { untilHostsQuiet } from './bench/lib/host-lag.ts';

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
