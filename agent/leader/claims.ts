import { acceptsTerm } from './terms.ts';

/**
 * What the election knows of each member, and how claims are ordered (pure). A claim is a member
 * that says it leads a term; the better claim has the higher term, then the older start, then the
 * smaller peer id, so every node orders the same claims the same way.
 */

export interface Candidate {
  peerId: string;
  /** Epoch ms the member's agent started. */
  startedAt: number;
  /** Term this member claims to lead, if any. */
  leads?: number;
  /** Highest term this member has seen. */
  term: number;
  /** The member is retiring (being drained): it will not lead. */
  retiring?: boolean;
}

/** A term from a peer that was ignored: beyond the accepted bound. */
export interface RefusedTerm {
  peerId: string | null;
  term: number;
}

export type Claim = Candidate & { leads: number };

/** Orders claims: higher term first, then older start, then smaller peer id. */
export function better(a: Claim, b: Claim): boolean {
  if (a.leads !== b.leads) return a.leads > b.leads;
  return older(a, b);
}

export function older(a: Pick<Candidate, 'startedAt' | 'peerId'>, b: Pick<Candidate, 'startedAt' | 'peerId'>): boolean {
  return a.startedAt !== b.startedAt ? a.startedAt < b.startedAt : a.peerId < b.peerId;
}

export function bestOf(claims: readonly Claim[]): Claim | undefined {
  return claims.reduce<Claim | undefined>((b, c) => (!b || better(c, b) ? c : b), undefined);
}

/** The candidates with every term beyond `limit` dropped (and reported). */
export function bounded(list: readonly Candidate[], limit: number, refused: RefusedTerm[]): Candidate[] {
  return list.map((c) => {
    const out: Candidate = { peerId: c.peerId, startedAt: c.startedAt, term: 0 };
    if (acceptsTerm(c.term, limit)) out.term = c.term;
    else refused.push({ peerId: c.peerId, term: c.term });
    if (c.leads !== undefined) {
      if (acceptsTerm(c.leads, limit)) out.leads = c.leads;
      else refused.push({ peerId: c.peerId, term: c.leads });
    }
    if (c.retiring) out.retiring = true;
    return out;
  });
}
