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
}

export function quorumSize(input: LeaseInput): number {
  return Math.floor(Math.max(input.members, input.listed, 1) / 2) + 1;
}

/** Whether the leader (counted as one) holds a majority. */
export function holdsLease(input: LeaseInput): boolean {
  return input.ackers + 1 >= quorumSize(input);
}

/** Where a leader's lease stands at one step (epoch ms). */
export interface LeaseRun {
  now: number;
  /** Since when a majority has acknowledged without a break (the current run). */
  heldSince: number;
  /** The last step at which the lease counted, or when this reign began if it never has. */
  countedAt: number;
  leaseTimeout: number;
}

/**
 * Whether a lease a majority acknowledges now counts. After a break of `leaseTimeout` or more (a
 * partition: the leader would already yield to a better claim), it counts only once it has been
 * held for longer than `leaseTimeout` without a break. A follower's load report is its
 * acknowledgement and carries no send time: at a heal, reports sent to the cut-off leader before
 * its followers declared it dead arrive late (TCP retransmits) and look fresh for `leaseTimeout`.
 * Seen after a 30 s cut: the minority's leader took them for a majority, re-bid one term above
 * the majority's and yielded 1.5-2.5 s later, most of the time from heal to one leader. A lease
 * held since the reign began, or back after a shorter break, counts at once.
 */
export function leaseCounts(r: LeaseRun): boolean {
  return r.heldSince - r.countedAt < r.leaseTimeout || r.now - r.heldSince > r.leaseTimeout;
}
