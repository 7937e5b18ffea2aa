import type { ProcPool } from './procpool.ts';
import { sleep } from './procs.ts';

/**
 * After `minMs` (IDLE_SETTLE_MS) the idle window also waits until no agent has emitted a
 * membership or leader event for QUIET_MS (bounded by SETTLE_MAX_MS from convergence): a pool of
 * 50 processes still had joins, suspicions and leader changes minutes after it started
 * (idle-watch.ts), and a window over them is not an idle pool's cost. How long it waited, and
 * whether it got quiet, is reported.
 */
const QUIET_MS = 20_000;
/** The least time from convergence to an idle window (ms): idle-cost and process-mode alike. */
export const IDLE_SETTLE_MS = 35_000;
const SETTLE_MAX_MS = 240_000;
/** The raw events of a pool that is not idle yet (stall-agent.ts prints them). */
export const POOL_EVENTS: ReadonlySet<string> = new Set([
  'member-joined',
  'member-recovered',
  'member-suspect',
  'member-dead',
  'member-left',
  'member-removed',
  'leader-elected',
  'leader-lost',
  'leader-stepped-down',
]);

/** Waits `minMs`, then until the pool has been quiet for QUIET_MS (see above); ms waited and whether quiet. */
export async function settle(
  pool: Pick<ProcPool, 'agents' | 'tracker'>,
  from: number,
  minMs: number,
  quietMs = QUIET_MS,
  maxMs = SETTLE_MAX_MS,
): Promise<{ ms: number; quiet: boolean }> {
  await sleep(minMs);
  const peers = new Set(pool.agents.map((a) => a.peerId));
  for (;;) {
    const now = Date.now();
    const last = Math.max(from, ...pool.tracker.eventsAbout(peers, POOL_EVENTS, from).map((e) => e.at));
    if (now - last >= quietMs) return { ms: now - from, quiet: true };
    if (now - from >= maxMs) return { ms: now - from, quiet: false };
    await sleep(1000);
  }
}
