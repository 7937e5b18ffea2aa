import type { WaitOut } from '../leadership/wait-out.ts';
import type { Named } from './relay-up.ts';

export interface ReportNamingOptions {
  self: () => string;
  /** The wall clock: a report's sample time is compared with the leader's clock. */
  now: () => number;
  /** The follower's promise (absent: every report names the leader followed). */
  waitOut?: WaitOut;
  /** Sends this node's report now: called once when a wait-out ends. */
  report: () => void;
}

/**
 * Following: what this node's load report (its lease acknowledgement) names. Term 0 — no
 * acknowledgement, its metrics still reach the leader — while it waits out another leader it
 * acknowledged (leadership/wait-out.ts), with one report due the moment the wait ends: a failover
 * pays no extra loadInterval for it. Term 0 is no leader's term (terms start at 1): the leader's
 * LoadBook counts it for no one, and relays route it up the tree of the leader they follow.
 */
export class ReportNaming {
  readonly #o: ReportNamingOptions;
  #wake: NodeJS.Timeout | undefined;

  constructor(opts: ReportNamingOptions) {
    this.#o = opts;
  }

  /** What a report sampled now names, following `leader` (null: none, or this node leads). */
  named(leader: { peerId: string; term: number } | null): Named {
    const o = this.#o;
    const at = o.now();
    if (!leader || leader.peerId === o.self()) return { term: 0, at };
    if (!o.waitOut || o.waitOut.name(leader.peerId)) return { term: leader.term, at, leader: leader.peerId };
    if (!this.#wake)
      this.#wake = setTimeout(() => {
        this.#wake = undefined;
        o.report();
      }, o.waitOut.left(leader.peerId));
    return { term: 0, at };
  }

  stop(): void {
    clearTimeout(this.#wake);
    this.#wake = undefined;
  }
}
