import type { SwimConfig } from './config.ts';
import type { Evidence } from './types.ts';

/**
 * Lifeguard suspicion timeout: starts at `max` and shrinks on a log curve towards `min` as
 * independent confirmations arrive; `expected` confirmations reach `min`.
 * timeout = max(min, max − (max − min) · log(C + 1) / log(k + 1))
 */
export function suspicionTimeout(confirmations: number, expected: number, min: number, max: number): number {
  if (expected < 1 || max <= min) return min;
  const frac = Math.log(confirmations + 1) / Math.log(expected + 1);
  return Math.max(min, Math.floor(max - (max - min) * frac));
}

export interface SuspicionBounds {
  min: number;
  max: number;
  /** Confirmations that bring the timeout down to `min` (rings − 1). */
  expected: number;
  /** Fixed timeout for `refused` evidence. */
  refused: number;
  /** Most distinct suspectors remembered. */
  cap: number;
}

/**
 * One suspicion of one member at one incarnation. Every node that marks a member suspect keeps one
 * (to count confirmations); only a node that itself suspected the member (`timed`) runs the timer
 * and later declares it dead.
 */
export class Suspicion {
  private readonly suspectors = new Set<string>();
  private timer: { start: number; evidence: Evidence } | undefined;

  constructor(
    readonly incarnation: number,
    private readonly bounds: SuspicionBounds,
  ) {}

  /** Records a suspector; true if it was new (an independent confirmation). */
  confirm(from: string | undefined): boolean {
    if (from === undefined || this.suspectors.has(from) || this.suspectors.size >= this.bounds.cap) return false;
    this.suspectors.add(from);
    return true;
  }

  /** This node suspects the member itself: start the timer (once). */
  start(self: string, now: number, evidence: Evidence): void {
    this.confirm(self);
    if (!this.timer || (evidence === 'refused' && this.timer.evidence === 'timeout'))
      this.timer = { start: now, evidence };
  }

  get timed(): boolean {
    return this.timer !== undefined;
  }

  /** Independent confirmations besides the first suspector. */
  get confirmations(): number {
    return Math.max(0, this.suspectors.size - 1);
  }

  /** When the member is to be declared dead, or Infinity if this node runs no timer. */
  deadline(): number {
    const t = this.timer;
    if (!t) return Number.POSITIVE_INFINITY;
    if (t.evidence === 'refused') return t.start + this.bounds.refused;
    const b = this.bounds;
    return t.start + suspicionTimeout(this.confirmations, b.expected, b.min, b.max);
  }

  /** Pushes the deadline to at least `at` (after our own stall). */
  defer(at: number): void {
    const t = this.timer;
    if (t) t.start += Math.max(0, at - this.deadline());
  }
}

/** The suspicions one node holds, and which of them it times itself. */
export class Suspicions {
  private readonly map = new Map<string, Suspicion>();
  private readonly timed = new Set<string>();
  /** Suspicions this node started itself, and its timers that ran out (counts.ts). */
  readonly counts = { suspected: 0, suspectedRefused: 0, declaredDead: 0 };

  constructor(private readonly bounds: SuspicionBounds) {}

  static of(c: SwimConfig): Suspicions {
    const bounds = { min: c.suspicionMinTimeout, max: c.suspicionMaxTimeout, expected: c.rings - 1 };
    return new Suspicions({ ...bounds, refused: c.refusedSuspicionTimeout, cap: c.maxPending });
  }

  /** The suspicion of `id` at `incarnation`; one at another incarnation is replaced. */
  of(id: string, incarnation: number): Suspicion {
    let s = this.map.get(id);
    if (s?.incarnation !== incarnation) {
      s = new Suspicion(incarnation, this.bounds);
      this.map.set(id, s);
      this.timed.delete(id);
    }
    return s;
  }

  /** This node suspects `id` itself. True if the deadline moved (new or stronger evidence): tell the pool. */
  start(id: string, incarnation: number, self: string, now: number, evidence: Evidence): boolean {
    const s = this.of(id, incarnation);
    const had = s.timed;
    const before = s.deadline();
    s.start(self, now, evidence);
    this.timed.add(id);
    if (!had) this.counts.suspected++;
    if (evidence === 'refused' && s.deadline() !== before) this.counts.suspectedRefused++;
    return s.deadline() !== before;
  }

  /** Suspicions this node only heard of (it runs no timer for them). */
  *untimed(): Generator<string> {
    for (const id of this.map.keys()) if (!this.timed.has(id)) yield id;
  }

  clear(id: string): void {
    this.map.delete(id);
    this.timed.delete(id);
  }

  /** Gives every running timer until at least `at`. */
  defer(at: number): void {
    for (const id of this.timed) this.map.get(id)!.defer(at);
  }

  /** Timers that ran out: [id, incarnation]. */
  expired(now: number): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (const id of this.timed) {
      const s = this.map.get(id)!;
      if (s.deadline() <= now) out.push([id, s.incarnation]);
    }
    this.counts.declaredDead += out.length;
    return out;
  }

  get wakeAt(): number {
    let at = Number.POSITIVE_INFINITY;
    for (const id of this.timed) at = Math.min(at, this.map.get(id)!.deadline());
    return at;
  }
}
