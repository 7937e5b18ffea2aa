/**
 * A leader's reign: the terms it has led without a break, newest last. A re-bid above a higher
 * claim (a healed minority, a key holder) adds a term without the leader ever stepping down, and
 * the acknowledgements of the reign's earlier terms still count towards the lease: they were sent
 * to this node as leader, and a re-bid must not cost the lease until followers name the new term
 * (without the carry-over, a key holder re-claiming the leader's new term at once took the
 * leadership from a leader that had just re-bid). Pure; the agent's LeaderDuty and the election
 * sim (test/helpers/election-pool.ts) both count the lease through it.
 */

/** Earlier terms of one reign whose acknowledgements still count (re-bids are rare: one per heal). */
export const REIGN_TERMS = 4;

/**
 * The reign once this node leads `term` (null: it leads nothing, the reign is over). The same
 * array when nothing changed, so a caller may compare by identity.
 */
export function extendReign(reign: readonly number[], term: number | null): readonly number[] {
  if (term === null) return reign.length === 0 ? reign : [];
  if (reign.at(-1) === term) return reign;
  return [...reign, term].slice(-REIGN_TERMS);
}

/**
 * The distinct peers that acknowledged any term of the reign, each with the arrival of its latest
 * acknowledgement (`ackers(term)` lists one term's peers, `arrived(peer)` when its report came).
 */
export function reignAckerIds(
  reign: readonly number[],
  ackers: (term: number) => Iterable<string>,
  arrived: (peer: string) => number,
): Map<string, number> {
  const peers = new Map<string, number>();
  for (const t of reign) for (const p of ackers(t)) peers.set(p, arrived(p));
  return peers;
}
