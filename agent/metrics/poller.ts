import { ownTimer, type Repeat } from '../beat.ts';
import { MetricStoppedError, MetricTimeoutError } from './errors.ts';
import { oneLine } from './parse.ts';

export type PollResult<T> = { ok: true; value: T } | { ok: false; error: string };

export interface PollerOptions<T> {
  /** Reads once; must release its resources and settle soon after the signal aborts. */
  read: (signal: AbortSignal) => Promise<T>;
  /** Interval between reads, ms. */
  every: number;
  /** A read still running after this long is aborted and reported as failed, ms. */
  timeout: number;
  /** Receives every result; never called after stop(). */
  onResult: (result: PollResult<T>) => void;
  /** The interval's timer (agent/beat.ts); default its own. */
  repeat?: Repeat;
}

/**
 * Runs one source on its own interval. A read never overlaps the previous one (a slow source
 * skips ticks instead of piling up processes or sockets), is bounded by its timeout, and can
 * never throw or reject out of here: failures become `{ ok: false, error }`.
 */
export class Poller<T> {
  private readonly opts: PollerOptions<T>;
  private cancel: (() => void) | undefined;
  /** The read in progress; cleared only when it has really settled, not when it timed out. */
  private inFlight: { controller: AbortController; settled: Promise<void> } | undefined;
  private stopped = false;

  constructor(opts: PollerOptions<T>) {
    this.opts = opts;
  }

  /** Starts the interval. The first tick comes after `every`; call sample() for one now. */
  start(): void {
    if (this.cancel || this.stopped) return;
    this.cancel = (this.opts.repeat ?? ownTimer)(this.opts.every, () => void this.sample());
  }

  /**
   * Reads once and publishes the result, resolving when it is published (at most `timeout`
   * later). Resolves at once without reading if the previous read is still running.
   */
  sample(): Promise<void> {
    if (this.inFlight || this.stopped) return Promise.resolve();
    const controller = new AbortController();
    // Promise.resolve().then() turns a synchronous throw in read() into a rejection.
    const read = Promise.resolve().then(() => this.opts.read(controller.signal));
    const settled = read.then(
      () => undefined,
      () => undefined,
    );
    const inFlight = { controller, settled };
    this.inFlight = inFlight;
    void settled.then(() => {
      if (this.inFlight === inFlight) this.inFlight = undefined;
    });

    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new MetricTimeoutError(`timed out after ${this.opts.timeout}ms`);
        controller.abort(error);
        reject(error);
      }, this.opts.timeout);
    });
    return Promise.race([read, timedOut])
      .then(
        (value) => this.publish({ ok: true, value }),
        (err: unknown) => this.publish({ ok: false, error: describeError(err) }),
      )
      .finally(() => clearTimeout(timer));
  }

  /**
   * Stops the interval and aborts a read in progress (killing its command), then waits until it
   * has settled — but no longer than `grace` ms, should a read ignore its signal.
   */
  async stop(grace = 1000): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    this.cancel = undefined;
    const inFlight = this.inFlight;
    if (!inFlight) return;
    inFlight.controller.abort(new MetricStoppedError('sampler stopped'));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, grace);
    });
    await Promise.race([inFlight.settled, waited]);
    clearTimeout(timer);
  }

  private publish(result: PollResult<T>): void {
    if (this.stopped) return;
    try {
      this.opts.onResult(result);
    } catch {
      // A faulty listener must not turn into an unhandled rejection from a timer tick.
    }
  }
}

function describeError(err: unknown): string {
  return oneLine(err instanceof Error ? err.message : String(err));
}
