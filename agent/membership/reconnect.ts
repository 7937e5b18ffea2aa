/**
 * Members this node lost (declared dead, or reaped), with where they listened, so it can try
 * them again later: after a partition heals, each side holds the other dead and nobody probes a
 * dead member, so without retrying them the two views never merge (seen in the fault suite: a
 * 2+3 split stayed split for good). Serf's reconnect does the same. Pure and bounded.
 */
export class LostMembers {
  readonly #lost = new Map<string, { addrs: string[]; since: number }>();
  readonly #max: number;
  readonly #keepFor: number;

  /** Remembers at most `max` members, each for `keepFor` ms. */
  constructor(max: number, keepFor: number) {
    this.#max = max;
    this.#keepFor = keepFor;
  }

  lost(id: string, addrs: readonly string[], now: number): void {
    if (addrs.length === 0) return;
    this.#lost.delete(id);
    if (this.#lost.size >= this.#max) {
      const oldest = this.#lost.keys().next().value;
      if (oldest !== undefined) this.#lost.delete(oldest);
    }
    this.#lost.set(id, { addrs: [...addrs], since: now });
  }

  /** A member is back (alive again, or it left for good): stop trying it. */
  found(id: string): void {
    this.#lost.delete(id);
  }

  /** One lost member to try now, picked with `rand` in [0, 1); expired ones are dropped first. */
  pick(now: number, rand: number): { id: string; addrs: string[] } | undefined {
    for (const [id, l] of this.#lost) if (now - l.since > this.#keepFor) this.#lost.delete(id);
    if (this.#lost.size === 0) return undefined;
    const i = Math.floor(rand * this.#lost.size);
    const [id, l] = [...this.#lost][i] as [string, { addrs: string[]; since: number }];
    return { id, addrs: l.addrs };
  }

  get size(): number {
    return this.#lost.size;
  }
}
