/**
 * One timer armed for the earliest of the times asked for: the membership core says when it next
 * wants a tick after every input, and a later wish must not postpone an earlier one.
 */
export class WakeTimer {
  #timer: NodeJS.Timeout | undefined;
  #at = Number.POSITIVE_INFINITY;

  /** Runs `fn` at `at` (ms, on the clock `now` reads), unless a wake no later than that is armed. */
  arm(at: number, now: number, fn: () => void): void {
    if (this.#timer && at >= this.#at) return;
    clearTimeout(this.#timer);
    this.#at = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#at = Number.POSITIVE_INFINITY;
      fn();
    }, at - now);
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
  }
}
