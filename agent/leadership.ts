import type { LeaderDetail, LeaderEvent } from '../shared/wire/cluster.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';
import {
  type Candidate,
  DEFAULT_LEASE_TIMEOUT,
  type ElectionState,
  initialElection,
  type RefusedTerm,
  stepElection,
} from './leader/election.ts';
import { awaitingJoin, hasSeeds, joinedThrough } from './leader/seeds.ts';
import { acceptsTerm, MAX_TERM_STEP, termLimit } from './leader/terms.ts';

export interface LeadershipOptions {
  selfPeerId: () => string;
  startedAt: number;
  /** A fresh agent listens this long before it may claim (ms). */
  settleAfter: number;
  /** With no claim to follow, the oldest member claims only after this long (ms). Default 0. */
  claimDelay?: number;
  /** A leader without its quorum lease this long yields to a better claim (ms). */
  leaseTimeout?: number;
  /** How far above the highest accepted term a term is still believed. Default MAX_TERM_STEP. */
  maxTermStep?: number;
  /** Told of every term refused (beyond the bound): the agent counts and logs them. */
  onRefused?: (r: RefusedTerm) => void;
  /**
   * The agent's seeds (config `bootstrap`): until `settleAfter` after one of them was first seen
   * alive, this agent claims no term, for at most `joinWindow` after it started (leader/seeds.ts).
   * Default none: it never waits.
   */
  seeds?: readonly string[];
  /** How long a seeded agent waits for its first join before it may claim (ms). Default DEFAULT_JOIN_WINDOW. */
  joinWindow?: number;
}

/** What one election round needs besides the alive members. */
export interface StepContext {
  /** Whether this agent, if it leads, holds its quorum lease now. */
  leaseHeld?: boolean;
  /** Suspect members' latest records: the leader this agent follows is still followed while suspect. */
  suspect?: readonly Heartbeat[];
}

function candidateOf(hb: Heartbeat): Candidate {
  return {
    peerId: hb.peerId,
    startedAt: hb.startedAt,
    term: hb.term ?? 0,
    ...(hb.leads !== undefined ? { leads: hb.leads } : {}),
    ...(hb.retiring ? { retiring: true } : {}),
  };
}

/**
 * Holds this agent's side of the election: feeds the pure election with what gossip says about
 * the others and its own lease, and tracks the highest term seen in messages (bounded: a term
 * beyond the election's bound is refused, never remembered).
 */
export class Leadership {
  readonly #o: LeadershipOptions;
  #state: ElectionState;
  #seenTerm = 0;
  #retiring = false;
  /** When this agent first saw a seed alive (latched: seeds that die later do not matter). */
  #joinedAt: number | null = null;
  #refused = 0;
  /** Refusals already reported ("peer:term"), so a record seen every round is reported once. */
  readonly #reported = new Set<string>();

  constructor(opts: LeadershipOptions) {
    this.#o = opts;
    this.#state = initialElection(opts.startedAt);
  }

  /** Notes a term from any other message (intents, retire requests); false when it was refused. */
  observeTerm(term: number, from: string | null = null): boolean {
    if (!this.acceptsTerm(term)) {
      this.#refuse({ peerId: from, term });
      return false;
    }
    this.#seenTerm = Math.max(this.#seenTerm, term);
    return true;
  }

  /** Whether a term from a peer is within the bound (highest accepted + maxTermStep, safe integer). */
  acceptsTerm(term: number): boolean {
    return acceptsTerm(term, termLimit(this.#state.term, [], this.#o.maxTermStep ?? MAX_TERM_STEP));
  }

  /** Distinct (peer, term) refusals so far (beyond the bound). */
  get refusedTerms(): number {
    return this.#refused;
  }

  /** One election round over the alive members' latest records (self excluded). */
  step(alive: readonly Heartbeat[], now: number, ctx: StepContext = {}): LeaderEvent[] {
    const o = this.#o;
    const seeds = o.seeds ?? [];
    if (this.#joinedAt === null && joinedThrough(seeds, o.selfPeerId(), alive))
      this.#joinedAt = hasSeeds(seeds, o.selfPeerId()) ? now : Number.NEGATIVE_INFINITY;
    const r = stepElection(this.#state, {
      self: { peerId: o.selfPeerId() },
      alive: alive.map(candidateOf),
      suspect: (ctx.suspect ?? []).map(candidateOf),
      seenTerm: this.#seenTerm,
      now,
      settleAfter: o.settleAfter,
      claimDelay: o.claimDelay ?? 0,
      leaseHeld: ctx.leaseHeld ?? false,
      leaseTimeout: o.leaseTimeout ?? DEFAULT_LEASE_TIMEOUT,
      maxTermStep: o.maxTermStep ?? MAX_TERM_STEP,
      retiring: this.#retiring,
      awaitingJoin: awaitingJoin(this.#joinedAt, now, o.settleAfter),
      ...(o.joinWindow !== undefined ? { joinWindow: o.joinWindow } : {}),
    });
    this.#state = r.state;
    for (const x of r.refused) this.#refuse(x);
    return r.events;
  }

  #refuse(r: RefusedTerm): void {
    const key = `${r.peerId}:${r.term}`;
    if (this.#reported.has(key)) return;
    if (this.#reported.size >= 1024) this.#reported.clear();
    this.#reported.add(key);
    this.#refused++;
    this.#o.onRefused?.(r);
  }

  /** From now on this agent will not lead (it is being drained); a leader hands over. */
  retire(): void {
    this.#retiring = true;
  }

  get retiring(): boolean {
    return this.#retiring;
  }

  /** The term this agent leads, or null. */
  get leads(): number | null {
    return this.#state.leads;
  }

  /** Another member claims (or claimed) the term this node leads: it must not act in it. */
  get contested(): boolean {
    return this.#state.contested === true;
  }

  get term(): number {
    return this.#state.term;
  }

  get leader(): LeaderDetail | null {
    return this.#state.leader && { ...this.#state.leader };
  }

  /** Fields for this agent's own heartbeat. */
  heartbeatFields(): Pick<Heartbeat, 'term' | 'leads' | 'retiring'> {
    return {
      term: this.#state.term,
      ...(this.#state.leads !== null ? { leads: this.#state.leads } : {}),
      ...(this.#retiring ? { retiring: true } : {}),
    };
  }
}
