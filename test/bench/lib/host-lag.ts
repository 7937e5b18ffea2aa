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

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
