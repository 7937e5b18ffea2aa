import { type Candidate, older } from './claims.ts';

/** What the heir is chosen from: a member's id, start and whether it is retiring. */
export type Electable = Pick<Candidate, 'peerId' | 'startedAt' | 'retiring'>;

/**
 * The heir: the member that claims next should the leader go — the oldest non-retiring member
 * other than the leader, in the election's own order (election.ts "One claim per failover",
 * claims.ts `older`). `members` are this node and the members alive in its view. Null when none.
 * Every member computes it alike from a converged view, as the election does. Pure.
 */
export function heirOf(members: Iterable<Electable>, leader: string | null): string | null {
  let heir: Electable | undefined;
  for (const m of members) if (m.peerId !== leader && !m.retiring && (!heir || older(m, heir))) heir = m;
  return heir?.peerId ?? null;
}

/**
 * The pool's hubs: the leader, whom every member reports its load to (the lease's
 * acknowledgements), and the heir, whom they will report to after a failover. Every member keeps
 * a connection to both (membership/neighbours.ts), so a new leader's followers report on
 * connections already open. Before, ~45 followers of a pool of 50 dialled the new leader at once,
 * past its limit of half-open upgrades (p2p/node.ts MAX_PENDING_INBOUND), and its quorum lease
 * came 4.7-14 s after all of them followed it (bench leader-failover, N=50 in one process). This
 * node is included when it is one of them (it then keeps its members' connections).
 */
export function hubsOf(members: Iterable<Electable>, leader: string | null): string[] {
  const heir = heirOf(members, leader);
  return [leader, heir].filter((id, i, all): id is string => id !== null && all.indexOf(id) === i);
}
