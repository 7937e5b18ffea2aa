/**
 * The follower's promise (issue 15, I1 and I3): the wait-out of a previous leader's acting window.
 *
 * A load report naming a leader's term is that leader's acknowledgement. The leader stamps it at
 * min(arrival, sample time) (exchange.ts, relay-up.ts) and acts only on a strict majority sampled
 * within its acting window (lease.ts actWindow; LeaderDuty): one sampled at real time s lets it act
 * until s + actWindow + RELAY_CLOCK_SKEW at the latest. So a node that acknowledged leader A at s
 * names no term of another leader B until its own monotonic clock has passed s + that wait: no
 * acknowledgement lets two leaders act at once, and two acting majorities never overlap. A new
 * term of the same leader is named at once (the same node acts in both; a re-bid carries its lease
 * over: reign.ts). A leader counts itself towards acting only under the same rule (LeaderDuty's
 * selfCounts). A leader that stops leading acknowledges another at once: it stopped acting when it
 * stopped leading (it yields only without its lease, or retiring, when it is barred from acting
 * anyway: leader/election.ts). The lease (leaseTimeout, what the election's yield rules read) is
 * longer and not exclusive: it keeps a leader leading, never lets it act.
 * The promise lives in memory: a restarted agent (its identity existed) waits from its start as
 * if it had acknowledged another leader then (WaitOutOptions.since), since its previous run's last
 * report still counts for its leader (systemd restarts it 2 s after a crash, at once on `restart`).
 *
 * The cost: a failover's first action waits until actWindow + skew after the majority's last
 * reports naming the old leader (its followers keep naming it until they see it dead or a new
 * claim): 4 s at the defaults (loadInterval 2 s), where the lease's 6 s + skew made it ~7 s.
 */

/**
 * The last leader this node acknowledged, and when (this node's monotonic clock, ms). `peerId` null:
 * not known, as at the start of a restarted agent, whose previous run may have acknowledged anyone.
 */
export interface Acked {
  peerId: string | null;
  at: number;
}

/**
 * How long from `now` until this node may name a term of `peerId` (ms; 0: now), having last
 * acknowledged `last`: 0 for no acknowledgement or the same peer, else until `now` is past
 * last.at + waitMs. Pure.
 */
export function waitLeft(last: Acked | null, peerId: string, now: number, waitMs: number): number {
  if (last === null || last.peerId === peerId) return 0;
  const end = last.at + waitMs;
  return now > end ? 0 : end - now + 1;
}

export interface WaitOutOptions {
  /** A monotonic clock (ms): the wait is a duration on this node, never compared across nodes. */
  clock: () => number;
  /** actWindow + RELAY_CLOCK_SKEW (ms). */
  waitMs: number;
  /**
   * A restarted agent (its identity existed): the clock at its start. Its previous run's reports
   * may still count for their leader until their sample time + the wait, and the promise lives in
   * memory only, so it names no leader (nor counts itself) until `since` + waitMs. Absent: a new
   * instance, which never acknowledged anyone.
   */
  since?: number;
}

/** This node's promise: whom it acknowledged last, and whether it may acknowledge a leader now. */
export class WaitOut {
  readonly #o: WaitOutOptions;
  #last: Acked | null;

  constructor(opts: WaitOutOptions) {
    this.#o = opts;
    this.#last = opts.since === undefined ? null : { peerId: null, at: opts.since };
  }

  get waitMs(): number {
    return this.#o.waitMs;
  }

  /** How long until this node may name a term of `peerId` (ms; 0: now). */
  left(peerId: string): number {
    return waitLeft(this.#last, peerId, this.#o.clock(), this.#o.waitMs);
  }

  /**
   * A report naming a term of `peerId`, sampled now: true when it may name it (and it is noted as
   * this node's last acknowledgement), false while the wait-out of another leader runs.
   */
  name(peerId: string): boolean {
    const now = this.#o.clock();
    if (waitLeft(this.#last, peerId, now, this.#o.waitMs) > 0) return false;
    this.#last = { peerId, at: now };
    return true;
  }

  /** The last acknowledgement (tests, logs). */
  get last(): Acked | null {
    return this.#last && { ...this.#last };
  }
}
