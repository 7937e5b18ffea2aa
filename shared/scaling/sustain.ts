/** Where a sustain timer stands at one instant. */
export interface SustainState {
  /** When the current unbroken run of true samples began; null when the last sample was false. */
  since: number | null;
  /** now - since, or 0 when not holding. */
  heldForMs: number;
  /** True once the condition has held for at least sustainMs. */
  satisfied: boolean;
}

/**
 * The `for 30s` of a rule: the condition must hold on every sample for sustainMs; one false sample
 * starts the wait over. Pure: the caller passes the clock in, so tests need no sleeping.
 *
 * `now` should come from a monotonic clock. If it goes backwards anyway (wall clock stepped), the
 * wait restarts: stalling until the clock catches up could block scaling for hours.
 */
export class Sustain {
  private since: number | null = null;

  constructor(readonly sustainMs: number) {
    if (!Number.isFinite(sustainMs) || sustainMs < 0) {
      throw new RangeError(`sustainMs must be a non-negative number of ms, got ${sustainMs}`);
    }
  }

  /** Records one sample of the condition taken at `now`. */
  update(holds: boolean, now: number): SustainState {
    if (!holds) this.since = null;
    else if (this.since === null || now < this.since) this.since = now;
    return this.snapshot(now);
  }

  /** Forgets the current run, e.g. after the scaler acted on it or the leader changed. */
  reset(): void {
    this.since = null;
  }

  /** The state at `now` without recording a sample. */
  snapshot(now: number): SustainState {
    if (this.since === null) return { since: null, heldForMs: 0, satisfied: false };
    const heldForMs = Math.max(0, now - this.since);
    return { since: this.since, heldForMs, satisfied: heldForMs >= this.sustainMs };
  }
}
