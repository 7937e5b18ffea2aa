import type { LeaderDetail, LeaderEvent } from '../shared/wire/cluster.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';
import { type Candidate, type ElectionState, initialElection, stepElection } from './leader/election.ts';

/**
 * Holds this agent's side of the election: feeds the pure election with what gossip says about
 * the others and tracks the highest term ever seen (dead members' terms included).
 */
export class Leadership {
  readonly #selfPeerId: () => string;
  readonly #settleAfter: number;
  #state: ElectionState;
  #seenTerm = 0;
  #retiring = false;

  constructor(opts: { selfPeerId: () => string; startedAt: number; settleAfter: number }) {
    this.#selfPeerId = opts.selfPeerId;
    this.#settleAfter = opts.settleAfter;
    this.#state = initialElection(opts.startedAt);
  }

  /** Remembers the terms a heartbeat mentions, even if its sender dies right after. */
  observe(hb: Heartbeat): void {
    this.#seenTerm = Math.max(this.#seenTerm, hb.term ?? 0, hb.leads ?? 0);
  }

  /** Notes a term from any other message (intents, retire requests). */
  observeTerm(term: number): void {
    this.#seenTerm = Math.max(this.#seenTerm, term);
  }

  /** One election round over the alive members' latest heartbeats (self excluded). */
  step(alive: readonly Heartbeat[], now: number): LeaderEvent[] {
    const candidates: Candidate[] = alive.map((hb) => ({
      peerId: hb.peerId,
      startedAt: hb.startedAt,
      term: hb.term ?? 0,
      ...(hb.leads !== undefined ? { leads: hb.leads } : {}),
      ...(hb.retiring ? { retiring: true } : {}),
    }));
    const r = stepElection(this.#state, {
      self: { peerId: this.#selfPeerId() },
      alive: candidates,
      seenTerm: this.#seenTerm,
      now,
      settleAfter: this.#settleAfter,
      retiring: this.#retiring,
    });
    this.#state = r.state;
    return r.events;
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
