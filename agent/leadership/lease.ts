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
