import type { Connection } from '@libp2p/interface';

/**
 * A connection younger than this is not closed for the budget (ms), whatever it carries: a joiner
 * dials its seed and only then opens the sync stream that pulls the table, a sync partner asks
 * the table hash on the probe stream before it opens `/sync/2`, and on a loaded host the gap is
 * loop turns of a second or more each. Past it, a connection is closed for the budget as soon
 * as it carries no stream of its own (`busy`); past GRACE_MS (neighbours.ts) whatever it carries.
 * Shorter: a seed sheds its joiners sooner, and a slow joiner's pull may lose its connection
 * (it retries the join); longer: the reverse.
 */
export const SURPLUS_GRACE_MS = 10_000;

/**
 * Streams every connection between members carries for as long as it is open, or that reopen
 * elsewhere by themselves: gossipsub's, the probe channel's (sync hashes ride on it), identify
 * and ping. A connection with any other stream open (a table pull, a bundle transfer) is busy.
 */
const LONG_LIVED = /^\/meshsub\/|^\/floodsub\/|\/probe\/\d+$|^\/ipfs\/(id|ping)\//;

/** Whether any of a peer's connections carries a stream of its own (a sync, a transfer). */
export function busy(conns: readonly Connection[]): boolean {
  return conns.some((c) => c.streams.some((s) => !LONG_LIVED.test(s.protocol ?? '')));
}

/** A connected peer as the budget sees it. */
export interface Connected {
  id: string;
  /** When its oldest open connection opened (ms). */
  opened: number;
  busy: boolean;
}

/**
 * The peers to hang up on while more than `max` are connected, oldest first: those not in
 * `keep` and either past `graceMs` or past SURPLUS_GRACE_MS and not `busy`. A seed in a join
 * storm holds a connection from every joiner it admitted and from every member whose follow-up
 * sync drew it: kept for the whole 30 s grace, they near libp2p's hard cap (4 × maxConnections
 * = 64: 61 after 19 s in a storm of 100), past which the seed refuses every joiner (the full
 * benchmark's in-process pool of 200 stopped at 60 members), though each had served its one
 * pull within seconds. Shed when idle, the seed held 38-42 at most, then ~20. Pure.
 */
export function surplusToClose(
  peers: readonly Connected[],
  keep: ReadonlySet<string>,
  max: number,
  now: number,
  graceMs: number,
): string[] {
  let excess = peers.length - max;
  if (excess <= 0) return [];
  const closable = peers
    .filter((p) => !keep.has(p.id) && (now - p.opened >= graceMs || (now - p.opened >= SURPLUS_GRACE_MS && !p.busy)))
    .sort((a, b) => a.opened - b.opened);
  const out: string[] = [];
  for (const p of closable) {
    if (excess-- <= 0) break;
    out.push(p.id);
  }
  return out;
}
