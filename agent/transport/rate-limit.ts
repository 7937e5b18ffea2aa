/**
 * Per-peer token buckets: a flood from one peer is shed before anything parses it. Pure; the
 * caller passes the time. Bounded: the least recently refilled peers are forgotten past `maxPeers`.
 */
export class PeerRateLimit {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxPeers: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  #dropped = 0;

  /** `ratePerS` messages per second sustained, `burst` at once. */
  constructor(ratePerS: number, burst: number, maxPeers = 4096) {
    this.#rate = ratePerS / 1000;
    this.#burst = burst;
    this.#maxPeers = maxPeers;
  }

  take(peer: string, now: number): boolean {
    let b = this.#buckets.get(peer);
    if (!b) {
      if (this.#buckets.size >= this.#maxPeers) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      b = { tokens: this.#burst, at: now };
    } else {
      this.#buckets.delete(peer);
      b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#rate);
      b.at = now;
    }
    this.#buckets.set(peer, b);
    if (b.tokens < 1) {
      this.#dropped++;
      return false;
    }
    b.tokens -= 1;
    return true;
  }

  get dropped(): number {
    return this.#dropped;
  }
}
