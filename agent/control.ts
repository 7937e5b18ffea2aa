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

/** An intent dated further ahead than this (ms) is refused: it would freeze scaling until then. */
export const MAX_FUTURE_SKEW = 60_000;

/**
 * Routes control messages by who may send them: intents, outcomes, retire requests and load
 * summaries only count from the leader this node follows, at its term or later; an intent from
 * the future is refused. A `stopping` notice (from `poolparty terminate`) fences every leader.
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
    switch (msg.type) {
      case 'intent':
        if (msg.at > o.now() + MAX_FUTURE_SKEW) {
          o.log('control-refused', { type: msg.type, from: msg.peerId, reason: 'dated in the future', at: msg.at });
          return;
        }
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
