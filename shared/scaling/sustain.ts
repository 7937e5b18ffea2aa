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
    const state = sustainStep(this.since, holds, now, this.sustainMs);
    this.since = state.since;
    return state;
  }

  /** Forgets the current run, e.g. after the scaler acted on it or the leader changed. */
  reset(): void {
    this.since = null;
  }

  /** The state at `now` without recording a sample. */
  snapshot(now: number): SustainState {
    return sustainAt(this.since, now, this.sustainMs);
  }
}

/**
 * One sample of a sustain timer as plain data (the scaling state is a value, see step.ts): the
 * timer that began at `since` (null: not holding) after the condition was `holds` at `now`.
 */
export function sustainStep(since: number | null, holds: boolean, now: number, sustainMs: number): SustainState {
  const next = !holds ? null : since === null || now < since ? now : since;
  return sustainAt(next, now, sustainMs);
}

function sustainAt(since: number | null, now: number, sustainMs: number): SustainState {
  if (since === null) return { since: null, heldForMs: 0, satisfied: false };
  const heldForMs = Math.max(0, now - since);
  return { since, heldForMs, satisfied: heldForMs >= sustainMs };
}
