import type { Verdict } from './binding.ts';

/**
 * The EC2 listing refusals of the leader this node follows, as its load summary carried them
 * (issue 15: followers do not list, agent/membership/binding-ec2-listing.ts). A follower holds
 * each for `forMs` from the last summary that named it (twice the listing's TTL or the summary's
 * interval, whichever is longer: a refusal the leader keeps repeating never lapses), and the
 * listing source answers with it instead of `unchecked`, so such a member takes no part here
 * either: not counted, not elected or followed at a failover, its frames refused. A summary row
 * of the peer (the leader counts it now) releases it at once. Only the load exchange's summary
 * path feeds it, which takes a summary only from the leader this node follows, in its term.
 * Pure apart from the injected clock; at most `max` peers, the nearest expiry evicted first.
 */

export interface HeldRefusal {
  leader: string;
  term: number;
  until: number;
}

export class HeldRefusals {
  readonly #now: () => number;
  readonly #max: number;
  readonly #held = new Map<string, HeldRefusal>();
  #revision = 0;
  #nextExpiry = Number.POSITIVE_INFINITY;

  constructor(opts: { now: () => number; max?: number }) {
    this.#now = opts.now;
    this.#max = opts.max ?? 1024;
  }

  /**
   * The leader's summary named `peers` as refused: holds each until now + `forMs`. Returns the
   * peers not held before (for the log). `self` and the leader itself are never held.
   */
  hold(leader: { peerId: string; term: number }, peers: readonly string[], forMs: number, self: string): string[] {
    const until = this.#now() + forMs;
    const added: string[] = [];
    for (const peer of peers) {
      if (peer === self || peer === leader.peerId) continue;
      if (!this.#held.has(peer)) {
        if (this.#held.size >= this.#max) this.#evictOne();
        added.push(peer);
      }
      this.#held.set(peer, { leader: leader.peerId, term: leader.term, until });
      this.#nextExpiry = Math.min(this.#nextExpiry, until);
    }
    if (added.length > 0) this.#revision++;
    return added;
  }

  /** The leader counts these peers now (its summary has their load): held no longer. */
  release(peers: readonly string[]): void {
    let moved = false;
    for (const peer of peers) moved = this.#held.delete(peer) || moved;
    if (moved) this.#revision++;
  }

  /** The held refusal of `peer` as a binding verdict (undefined: none held). */
  verdict(peerId: string): Verdict | undefined {
    const h = this.#held.get(peerId);
    if (!h || h.until <= this.#now()) return undefined;
    return { kind: 'unbound', reason: 'not-listed', detail: `refused by leader ${h.leader} (term ${h.term})` };
  }

  /** The refusal held for `peer`, if any (the monitor, tests). */
  get(peerId: string): HeldRefusal | undefined {
    const h = this.#held.get(peerId);
    return h && h.until > this.#now() ? h : undefined;
  }

  /** Moves whenever a peer is held, released or lapses (lapses found here, by the earliest expiry). */
  revision(): number {
    const now = this.#now();
    if (now < this.#nextExpiry) return this.#revision;
    this.#nextExpiry = Number.POSITIVE_INFINITY;
    let lapsed = false;
    for (const [peer, h] of this.#held) {
      if (h.until <= now) {
        this.#held.delete(peer);
        lapsed = true;
      } else this.#nextExpiry = Math.min(this.#nextExpiry, h.until);
    }
    if (lapsed) this.#revision++;
    return this.#revision;
  }

  get size(): number {
    return this.#held.size;
  }

  #evictOne(): void {
    let first: [string, number] | undefined;
    for (const [peer, h] of this.#held) if (!first || h.until < first[1]) first = [peer, h.until];
    if (first) this.#held.delete(first[0]);
  }
}
