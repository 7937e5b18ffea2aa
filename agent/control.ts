import type { ControlMessage, Retire } from '../shared/wire/heartbeat.ts';
import type { Leadership } from './leadership.ts';
import type { LoadExchange } from './load/exchange.ts';
import type { ActionLedger } from './scaler/ledger.ts';

export interface ControlRouterOptions {
  self: () => string;
  now: () => number;
  leadership: Leadership;
  ledger: ActionLedger;
  load: LoadExchange;
  retire: (reason: string, term: number) => void;
  log: (msg: string, fields: Record<string, unknown>) => void;
}

/**
 * A control message dated further ahead than this (ms) is refused: an intent from the future
 * would block its cloud's scaling ("waiting for … to complete") and an outcome its cooldown
 * until then. One minute: more than any sane clock skew between two members.
 */
export const MAX_FUTURE_SKEW = 60_000;
/** A retire request older than this (ms) is refused: a replay must not drain a member later. */
export const MAX_RETIRE_AGE = 5 * 60_000;
/** Instances one intent may name (far above any cloud's max, far below anything that hurts). */
export const MAX_ACTION_COUNT = 10_000;
/** Largest action number within a term: the next one stays a safe integer and the token short. */
export const MAX_ACTION = 1_000_000;

/**
 * Routes control messages by who may send them: intents, outcomes, retire requests and load
 * summaries only count from the leader this node follows, at its term or later and within the
 * election's term bound; numbers no honest leader sends are refused (outOfBounds: anything dated
 * in the future, stale retire requests, action numbers and counts past their bounds). Intents
 * older than the scaling intentTimeout need no check here: the ledger no longer counts them as
 * in flight. A `stopping` notice (from `poolparty terminate`) fences every leader.
 */
export class ControlRouter {
  readonly #o: ControlRouterOptions;
  #stopping = false;

  constructor(opts: ControlRouterOptions) {
    this.#o = opts;
  }

  /** Set once the operator began terminating the pool: no leader acts any more. */
  get stopping(): boolean {
    return this.#stopping;
  }

  receive(msg: ControlMessage): void {
    const o = this.#o;
    if (msg.type === 'stopping') {
      if (!this.#stopping) o.log('pool-stopping', { from: msg.peerId, at: msg.at });
      this.#stopping = true;
      return;
    }
    const leader = o.leadership.leader;
    const fromLeader = leader !== null && leader.peerId === msg.peerId && msg.term >= leader.term;
    if (!fromLeader) {
      o.log('control-refused', { type: msg.type, from: msg.peerId, term: msg.term, leader });
      return;
    }
    // Even the leader we follow may not push the pool's term past the election's bound.
    if (!o.leadership.observeTerm(msg.term, msg.peerId)) {
      o.log('control-refused', { type: msg.type, from: msg.peerId, reason: 'term out of bounds', term: msg.term });
      return;
    }
    const bad = outOfBounds(msg, o.now());
    if (bad) {
      o.log('control-refused', { type: msg.type, from: msg.peerId, reason: bad, at: msg.at });
      return;
    }
    switch (msg.type) {
      case 'intent':
        o.ledger.intent(msg);
        return;
      case 'outcome':
        o.ledger.outcome(msg);
        return;
      case 'summary':
        o.load.onSummary(msg);
        return;
      case 'retire':
        this.#retire(msg);
        return;
    }
  }

  #retire(msg: Retire): void {
    if (msg.target !== this.#o.self()) return;
    this.#o.retire(`retired by the leader …${msg.peerId.slice(-6)} (term ${msg.term})`, msg.term);
  }
}

/** Why a message from the leader carries numbers no honest leader sends, or null. */
export function outOfBounds(msg: Exclude<ControlMessage, { type: 'stopping' }>, now: number): string | null {
  if (msg.at > now + MAX_FUTURE_SKEW) return 'dated in the future';
  if (msg.type === 'retire' && msg.at < now - MAX_RETIRE_AGE) return 'retire request too old';
  if (msg.type === 'intent' || msg.type === 'outcome') {
    if (msg.action < 1 || msg.action > MAX_ACTION) return `action number outside 1..${MAX_ACTION}`;
    if (msg.type === 'intent' && msg.count > MAX_ACTION_COUNT) return `count above ${MAX_ACTION_COUNT}`;
  }
  return null;
}
