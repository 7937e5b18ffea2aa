/**
 * Loopback addresses for one bench run: Linux routes all of 127/8 to `lo`, so every agent gets its
 * own address (like its own machine) in a random 127.A.B.0/24 block per group — far from the
 * 127.0.0.x that tests and demos use, and different each run.
 */
export class LoopbackBlock {
  readonly #a: number;
  #b: number;
  #next = 2;

  constructor() {
    this.#a = 100 + Math.floor(Math.random() * 150);
    this.#b = Math.floor(Math.random() * 200);
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

/** A random unprivileged port; collisions are unlikely because every node has its own address. */
export function randomPort(): number {
  return 20_000 + Math.floor(Math.random() * 30_000);
}
