import type { Liveness } from './types.ts';

/** What an update claims about a member, stripped to what ordering needs. */
export interface Claim {
  incarnation: number;
  state: Liveness;
}

const RANK: Record<Liveness, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };

/**
 * Whether `next` replaces `cur` (SWIM precedence). A higher incarnation wins; at equal incarnation
 * left ≥ dead > suspect > alive. A dead or left member comes back only with a higher incarnation,
 * and never through a suspicion (an accusation says nothing about being alive).
 */
export function supersedes(next: Claim, cur: Claim | undefined): boolean {
  if (!cur) return true;
  const gone = cur.state === 'dead' || cur.state === 'left';
  if (gone && next.state === 'suspect') return false;
  if (next.incarnation !== cur.incarnation) return next.incarnation > cur.incarnation;
  return RANK[next.state] > RANK[cur.state];
}

/** A member that is on the rings (probed and probing). */
export function inRing(state: Liveness): boolean {
  return state === 'alive' || state === 'suspect';
}
