/**
 * Turns successive readings of a monotonic counter (requests served, jobs done) into a per-second
 * rate. Pure: the caller keeps the state and passes the times of its own samples, so the rate is
 * measured between the agent's reads, not by a clock the source keeps.
 */

/** One reading of a counter: its value and when it was taken (epoch ms). */
export interface CounterSample {
  value: number;
  at: number;
}

export interface RateStep {
  /** The baseline for the next reading. */
  last: CounterSample;
  /** Per-second rate since the previous reading, or null when this interval yields no sample. */
  rate: number | null;
}

/**
 * The rate between `previous` and `next`. No rate for the first reading (nothing to compare
 * with), for a counter that went down (the process counting restarted: its new value says nothing
 * about the interval, and a negative rate would read as load vanishing), or when the clock did not
 * advance (a division by zero, or a clock stepped back). In every case `next` becomes the
 * baseline, so the interval after a restart is measured from the restarted counter.
 */
export function counterRate(previous: CounterSample | undefined, next: CounterSample): RateStep {
  if (previous === undefined || next.value < previous.value || next.at <= previous.at) {
    return { last: next, rate: null };
  }
  return { last: next, rate: ((next.value - previous.value) * 1000) / (next.at - previous.at) };
}
