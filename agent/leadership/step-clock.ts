import { WakeTimer } from '../membership/wake-timer.ts';

export interface StepClockOptions {
  /** One election round (LeaderDuty.step). */
  step: () => void;
  /** Whether time alone can change the next round's outcome: this node leads, or follows nobody. */
  urgent: () => boolean;
  now: () => number;
  /** The beat while `urgent` (ms): the old fixed ticker's, heartbeatInterval / 4. */
  fastMs: number;
  /** A poke this soon after the last round waits for that much to have passed (ms): a burst of changes is one round. */
  minGapMs: number;
  onError: (err: Error) => void;
}

/**
 * When the election steps. It ran 4 times a second on every agent, each round walking every
 * member (the largest per-member work of an idle follower, BENCHMARKS session 16) for a result
 * that, for a follower of a live leader, only a change of its view can alter: the leader's death
 * or leave (a member event), a claim or a step-down (a record), a join. So a change of the view
 * pokes a round at once (coalesced: never closer than `minGapMs` to the last), and the beat runs
 * at `fastMs` only while time alone moves the outcome — this node leads (its lease ages, a
 * rival's claim waits out leaseTimeout, a re-bid rests) or follows nobody (claimDelay,
 * settleAfter and the join window run out) — and otherwise not at all: the agent's own 1 s beat
 * calls `beat` as a backstop (no timer of its own: one wake-up fewer a second). A leader's death is acted on at the event instead of the next
 * beat; the claim follows `fastMs` later, as before.
 */
export class StepClock {
  readonly #o: StepClockOptions;
  readonly #timer = new WakeTimer();
  #last = Number.NEGATIVE_INFINITY;
  #running = false;

  constructor(opts: StepClockOptions) {
    this.#o = opts;
  }

  start(): void {
    this.#running = true;
    const now = this.#o.now();
    this.#timer.arm(now + this.#o.fastMs, now, () => this.#round());
  }

  stop(): void {
    this.#running = false;
    this.#timer.clear();
  }

  /** The view changed: a round now, or `minGapMs` after the last one. */
  poke(): void {
    if (!this.#running) return;
    const now = this.#o.now();
    this.#timer.arm(Math.max(now, this.#last + this.#o.minGapMs), now, () => this.#round());
  }

  /**
   * The agent's beat, from a timer of its own: a round in this wake-up (a poke's would wait for
   * the next turn of the loop: a second wake-up), unless one ran within `minGapMs` or the clock
   * beats `fastMs` itself (only a round changes what `urgent` says).
   */
  beat(): void {
    const o = this.#o;
    if (this.#running && !o.urgent() && o.now() - this.#last >= o.minGapMs) this.#round();
  }

  #round(): void {
    if (!this.#running) return;
    const o = this.#o;
    this.#last = o.now();
    try {
      o.step();
    } catch (err) {
      o.onError(err as Error);
    }
    const now = o.now();
    if (o.urgent()) this.#timer.arm(now + o.fastMs, now, () => this.#round());
  }
}
