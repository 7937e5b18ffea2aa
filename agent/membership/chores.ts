/**
 * Housekeeping that rides on the membership core's own ticks instead of timers of its own: each
 * chore runs at the first tick at least `every` ms after its last run. The core ticks ~2–3 times
 * a second when idle (never more than TICK_MAX_MS apart), so a chore runs at most that much
 * late; an idle agent then wakes only for the core (issue 13: ~20 timer wakes a second per agent
 * were a measurable share of its idle CPU, and these chores need no precision).
 */
export interface Chore {
  /** Least time between two runs (ms); 0: every tick. */
  every: number;
  run: () => void;
}

export class Chores {
  readonly #chores: ReadonlyArray<Chore & { last: number }>;

  constructor(chores: readonly Chore[]) {
    this.#chores = chores.map((c) => ({ ...c, last: Number.NEGATIVE_INFINITY }));
  }

  /** Runs the chores due at `now`; one that throws does not stop the others. */
  due(now: number, onError: (err: unknown) => void = () => undefined): void {
    for (const c of this.#chores) {
      if (now - c.last < c.every) continue;
      c.last = now;
      try {
        c.run();
      } catch (err) {
        onError(err);
      }
    }
  }
}
