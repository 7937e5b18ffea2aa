/**
 * Lifeguard local health: a score that rises when this node shows signs of being the slow one
 * (its probes fail with no helper answering, or it has to refute suspicions of itself) and falls
 * on each successful probe. Timeouts are scaled by (score + 1), so a sick node waits longer
 * instead of accusing healthy peers.
 */
export class Awareness {
  private value = 0;
  /** The highest score reached (counted for benchmarks: counts.ts). */
  peak = 0;

  constructor(private readonly max: number) {}

  apply(delta: number): void {
    this.value = Math.min(this.max, Math.max(0, this.value + delta));
    this.peak = Math.max(this.peak, this.value);
  }

  get score(): number {
    return this.value;
  }

  /** `ms` scaled by the current health. */
  scale(ms: number): number {
    return ms * (this.value + 1);
  }
}
