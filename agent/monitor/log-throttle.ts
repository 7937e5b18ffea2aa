/**
 * One log line per reason per window. A peer holding the pool key can send thousands of refused
 * messages a second; each is counted in metrics, but logging each would flood journald and cost
 * the CPU the flood is meant to steal. The first of a reason in a window is logged at once; the
 * rest are counted and reported as `suppressed` on the next line of that reason.
 */
export class LogThrottle {
  readonly #windows = new Map<string, { until: number; suppressed: number }>();

  constructor(
    private readonly every: number,
    private readonly now: () => number,
    /** Reasons remembered at most: a hostile peer cannot grow this map (reasons are a closed set today). */
    private readonly maxReasons = 64,
  ) {}

  /** Whether to log this event now; if so, how many of its reason were suppressed before it. */
  take(reason: string): { log: false } | { log: true; suppressed: number } {
    const t = this.now();
    const w = this.#windows.get(reason);
    if (w && t < w.until) {
      w.suppressed += 1;
      return { log: false };
    }
    const suppressed = w?.suppressed ?? 0;
    if (!w && this.#windows.size >= this.maxReasons) {
      const oldest = this.#windows.keys().next().value;
      if (oldest !== undefined) this.#windows.delete(oldest);
    }
    this.#windows.set(reason, { until: t + this.every, suppressed: 0 });
    return { log: true, suppressed };
  }
}
