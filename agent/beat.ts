/**
 * Runs `fn` every `ms` until the returned function is called: setInterval's contract, so a part
 * can take its timer from its options (its own by default, the agent's shared beat in the agent).
 */
export type Repeat = (ms: number, fn: () => void) => () => void;

/** A timer of its own (setInterval); `unref`: it does not keep the process alive. */
export function ownTimer(ms: number, fn: () => void, unref = false): () => void {
  const timer = setInterval(fn, ms);
  if (unref) timer.unref();
  return () => clearInterval(timer);
}

interface Task {
  /** Beats between two runs, and beats left before the next one. */
  every: number;
  left: number;
  fn: () => void;
}

/**
 * One timer for an agent's periodic work whose period is a multiple of the beat. Each setInterval
 * of its own woke the process at its own moment: an idle follower's 1 s timers (metric sampler,
 * lost-member retry, upgrade tick, the agent's beat) and slower ones (neighbours 2 s, history 5 s)
 * were ~4 of its ~20 wake-ups a second, each a context switch and a turn of the event loop with
 * nothing else to do (BENCHMARKS.md, "An idle follower's wake-ups"). A period that is not a
 * multiple of the beat gets a timer of its own. A task that throws is reported and does not keep
 * the later ones of the same beat from running. The timer runs while any task is registered.
 */
export class Beat {
  readonly #tasks = new Set<Task>();
  #timer: NodeJS.Timeout | undefined;
  /** When the beat last ran (the clock's ms; undefined: not since its timer started). */
  #last: number | undefined;

  /**
   * `onLag`: told at each beat how late it ran (ms beyond `ms` since the previous one): the agent's
   * event-loop lag gauge, measured by a timer that runs anyway rather than by a wake-up of its own.
   */
  constructor(
    readonly ms: number,
    private readonly onError: (err: Error) => void,
    private readonly onLag?: (ms: number) => void,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  readonly repeat: Repeat = (ms, fn) => {
    if (ms < this.ms || ms % this.ms !== 0) return ownTimer(ms, fn);
    const task: Task = { every: ms / this.ms, left: ms / this.ms, fn };
    this.#tasks.add(task);
    this.#timer ??= setInterval(() => this.#run(), this.ms);
    return () => {
      this.#tasks.delete(task);
      if (this.#tasks.size > 0) return;
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#last = undefined;
    };
  };

  #run(): void {
    const now = this.clock();
    if (this.#last !== undefined) this.onLag?.(Math.max(0, now - this.#last - this.ms));
    this.#last = now;
    for (const task of [...this.#tasks]) {
      if (--task.left > 0 || !this.#tasks.has(task)) continue;
      task.left = task.every;
      try {
        task.fn();
      } catch (err) {
        this.onError(err as Error);
      }
    }
  }
}
