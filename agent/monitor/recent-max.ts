/**
 * The largest of the last `size` values added. The loop-lag gauge shows the worst beat of the last
 * 15 s rather than the latest one: a stall shows on one beat only (the next runs on time), and a
 * scrape every 15 s would almost never see it.
 */
export class RecentMax {
  readonly #values: number[] = [];

  constructor(readonly size: number) {}

  /** Adds `v`; returns the largest of the last `size` values, `v` included. */
  add(v: number): number {
    this.#values.push(v);
    if (this.#values.length > this.size) this.#values.shift();
    return Math.max(...this.#values);
  }
}
