/**
 * Loopback addresses for one bench run: Linux routes all of 127/8 to `lo`, so every agent gets its
 * own address (like its own machine) in a random 127.A.B.0/24 block per group — far from the
 * 127.0.0.x that tests and demos use, and different each run. Every address of one block is in
 * 127.A.0.0/16 (`cidr`), which is what the wire counter (wire.ts) matches.
 */
export class LoopbackBlock {
  readonly #a: number;
  #b: number;
  #next = 2;

  /** `avoid`: blocks whose 127.A.0.0/16 must differ from this one's (e.g. Serf's from ours). */
  constructor(avoid: readonly LoopbackBlock[] = []) {
    const taken = new Set(avoid.map((b) => b.#a));
    let a = 100 + Math.floor(Math.random() * 150);
    for (let i = 0; i < 150 && taken.has(a); i++) a = 100 + ((a - 100 + 1) % 150);
    this.#a = a;
    this.#b = Math.floor(Math.random() * 200);
  }

  /** The /16 every address of this block is in. */
  get cidr(): string {
    return `127.${this.#a}.0.0/16`;
  }

  /** The next free address; moves on to a new /24 every 250 addresses. */
  next(): string {
    if (this.#next > 251) {
      this.#b = (this.#b + 1) % 256;
      this.#next = 2;
    }
    return `127.${this.#a}.${this.#b}.${this.#next++}`;
  }
}

/** The agents' libp2p TCP port in the bench (each agent has its own address, so one port serves all). */
export const P2P_PORT = 8643;
/** Serf's gossip port (TCP + UDP) in the bench. */
export const SERF_PORT = 7946;

/** A random unprivileged port; collisions are unlikely because every node has its own address. */
export function randomPort(): number {
  return 20_000 + Math.floor(Math.random() * 30_000);
}
