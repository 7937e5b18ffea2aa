/** What untilHostsQuiet() reads: each host's event-loop delay since its last call (InprocPool.lag()). */
export interface LagSource {
  lag(): Promise<Array<{ p99Ms: number }>>;
}

/**
 * Waits, at most `maxMs`, until every host's event loop is quiet (p99 delay under `p99Ms` over one
 * `everyMs` window) and returns how long that took and the last p99 of each host. A crash is timed
 * in a settled pool: a pool that has just formed keeps its hosts busy for a while, and a crash then
 * times the host's backlog, not detection (N=50, session 20: the crash request reached the host
 * 170-630 ms late and every agent marked the victim dead after 2.0-3.7 s; once it arrived within
 * 35 ms, after 0.65-0.95 s). The caller reports both, so a row never hides a loaded host.
 */
export async function untilHostsQuiet(
  pool: LagSource,
  { p99Ms = 100, maxMs = 30_000, everyMs = 1000, sleep = defaultSleep } = {},
): Promise<{ waitedMs: number; p99Ms: number[] }> {
  await pool.lag(); // starts a fresh window
  let last: number[] = [];
  for (let waited = everyMs; ; waited += everyMs) {
    await sleep(everyMs);
    last = (await pool.lag()).map((l) => Math.round(l.p99Ms));
    if (last.every((p) => p < p99Ms) || waited >= maxMs) return { waitedMs: waited, p99Ms: last };
  }
}

/** What a host reads from its `monitorEventLoopDelay` histogram (values in ns). */
export interface DelayHistogram {
  count: number;
  mean: number;
  max: number;
  percentile(p: number): number;
}

/**
 * A host's loop delay over one window (ms), from its histogram, the window's length and the
 * histogram's resolution. The histogram drops the first interval after a reset, so a block that
 * starts as the window opens leaves no sample of its own: a loop blocked for the whole window
 * read p99 0, the quietest of all, and untilHostsQuiet() crashed in it (issue 13: the in-process
 * crash rows at N=50 and 100 that took 7-9 s reported p99 0). The time the samples do not cover,
 * less two resolutions (the dropped first interval and the tail since the last sample), was
 * spent blocked: it bounds the window's worst delay from below.
 */
export function windowDelay(
  h: DelayHistogram,
  windowMs: number,
  resolutionMs: number,
): { meanMs: number; p99Ms: number; maxMs: number } {
  const covered = h.count > 0 ? (h.count * h.mean) / 1e6 : 0;
  const blocked = Math.max(0, windowMs - covered - 2 * resolutionMs);
  if (h.count === 0) return { meanMs: blocked, p99Ms: blocked, maxMs: blocked };
  return {
    meanMs: h.mean / 1e6,
    p99Ms: Math.max(h.percentile(99) / 1e6, blocked),
    maxMs: Math.max(h.max / 1e6, blocked),
  };
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
