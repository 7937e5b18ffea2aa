/**
 * The quorum lease (etcd/raft's CheckQuorum, applied to a pool): a leader may act on the provider
 * only while a strict majority of the pool acknowledged its term recently. Pure.
 *
 * The pool's size is the larger of the members this leader sees (any state but left) and the
 * instances the providers list for the pool: a leader cut off with a minority cannot shrink the
 * pool's size to make itself a majority, because the provider still lists the other side.
 */
export interface LeaseInput {
  /** Peers (self excluded) whose load report named the leader's term within the lease timeout. */
  ackers: number;
  /** Members in the leader's view, self included, that did not leave. */
  members: number;
  /** Instances the providers list for the pool (0 when not known yet). */
  listed: number;
  /**
   * Whether the leader counts itself: when acting, not until it has waited out the last other
   * leader it acknowledged (wait-out.ts), as a follower would before acknowledging it. Default true.
   */
  self?: boolean;
}

/**
 * The window of acknowledgements a leader acts on (ms): loadInterval plus half of it, at least 1 s,
 * never above the lease (3 × loadInterval). A live follower reports every loadInterval and relays
 * forward within relayDelay, so a live majority is always that fresh and a late report only delays
 * an action. It is what a follower waits out before it acknowledges another leader (plus
 * RELAY_CLOCK_SKEW): the shorter it is, the sooner a failover acts (issue 13: ≤ 4 s), while the
 * lease, which only keeps a leader leading, stays long enough to ride out a missed report or two.
 */
export function actWindow(loadInterval: number): number {
  return Math.min(leaseTimeout(loadInterval), loadInterval + Math.max(loadInterval / 2, 1_000));
}

/**
 * The lease window (ms): acknowledgements older than three load reports do not keep a leader
 * leading, so one or two missed reports never cost it its lease.
 */
export function leaseTimeout(loadInterval: number): number {
  return 3 * loadInterval;
}

/** The acknowledgements in `acking` sampled at `since` or later (peer → sample time). */
export function freshAcks(acking: ReadonlyMap<string, number>, since: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [p, at] of acking) if (at >= since) out.set(p, at);
  return out;
}

export function quorumSize(input: LeaseInput): number {
  return Math.floor(Math.max(input.members, input.listed, 1) / 2) + 1;
}

/** Whether the leader (counted as one unless `self` is false) holds a majority. */
export function holdsLease(input: LeaseInput): boolean {
  return input.ackers + (input.self === false ? 0 : 1) >= quorumSize(input);
}

/**
 * Each acknowledging peer's run: the arrival of the first acknowledgement of its current run
 * without a break, given `acking`, the peers acknowledging now with the arrival of their latest
 * (a report naming a term of the reign within the lease window). A peer missing from `acking`
 * loses its run; one new to it starts one at its latest report. Pure; the same map when nothing
 * changed.
 */
export function ackRuns(
  runs: ReadonlyMap<string, number>,
  acking: ReadonlyMap<string, number>,
): ReadonlyMap<string, number> {
  if (runs.size === acking.size && [...acking.keys()].every((p) => runs.has(p))) return runs;
  const next = new Map<string, number>();
  for (const [p, at] of acking) next.set(p, runs.get(p) ?? at);
  return next;
}

/** One peer's acknowledgements at one step (epoch ms, this node's clock). */
export interface AckRun {
  /** When the first acknowledgement of this peer's current run arrived (ackRuns). */
  since: number;
  /** When its latest arrived. */
  last: number;
  /**
   * The last step at which the lease counted, or, if it never has, when this reign began plus the
   * followers' wait-out (LeaderDuty's ackWait: their first acknowledgements come that late by design).
   */
  countedAt: number;
  leaseTimeout: number;
}

/**
 * Whether one peer's acknowledgement counts towards the lease now. A peer whose run began while
 * the lease counted, or less than `leaseTimeout` after it last did, counts at once; after a longer
 * break (a partition: the leader would already yield to a better claim) only once its
 * acknowledgements have kept arriving for longer than `leaseTimeout`. A follower's load report is
 * its acknowledgement; a previous release's carries no sample time and is taken as sent when it
 * arrived (this release's are stamped at their sample time, so a late one never counts). At a heal the reports each old follower sent to
 * the cut-off leader in the seconds before it declared it dead arrive together, ~30 s late (its
 * connection's next retransmit), each burst within ~100 ms and each follower's at its own moment
 * (traced, 2026-12-06: bursts at +1.57 and +2.06 s, at +0.11, +0.34 and +0.48 s after the heal).
 * The rule on the majority's run (7415161) chained two such bursts, each fresh for `leaseTimeout`,
 * into a majority held longer than that, and the cut-off leader re-bid above the majority's leader
 * (issue 15); one burst never spans `leaseTimeout`, a live follower's reports do within one
 * loadInterval more (test/election-heal.test.ts).
 */
export function ackCounts(r: AckRun): boolean {
  return r.since - r.countedAt < r.leaseTimeout || r.last - r.since > r.leaseTimeout;
}

/** How many peers' acknowledgements count now (ackCounts): `acking` as for ackRuns. */
export function countedAckers(
  runs: ReadonlyMap<string, number>,
  acking: ReadonlyMap<string, number>,
  countedAt: number,
  leaseTimeout: number,
): number {
  let n = 0;
  for (const [p, last] of acking) {
    const since = runs.get(p) ?? last;
    if (ackCounts({ since, last, countedAt, leaseTimeout })) n++;
  }
  return n;
}
