import type { Effect, ToldUpdate } from './types.ts';

interface Pending {
  update: ToldUpdate;
  to: string[];
  /** Re-sends left. */
  left: number;
  at: number;
}

/**
 * Targeted updates waiting to be re-sent (what to resend, apart from what is sent — like
 * memberlist's queue.go, for point-to-point updates). A suspicion is told to the suspect and its
 * observers, a refutation to our observers and accusers; no other path carries them, so each is
 * re-sent up to `times` more times, `every` ms apart, while the core says it still holds. One
 * entry per member the update is about (a newer update replaces the older); at most `cap`.
 */
export class Tells {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly times: number,
    private readonly cap: number,
  ) {}

  /** Tells `to` about `update` now, and queues the re-sends. */
  tell(update: ToldUpdate, to: readonly string[], now: number, every: number, out: Effect[]): void {
    const recipients = [...new Set(to)];
    if (recipients.length === 0) return;
    out.push({ type: 'tell', to: recipients, update });
    this.pending.delete(update.id);
    if (this.times > 0 && this.pending.size < this.cap) {
      this.pending.set(update.id, { update, to: recipients, left: this.times, at: now + every });
    }
  }

  /** Adds `id` to the recipients of the queued update about `about`, if any. */
  also(about: string, id: string): void {
    const p = this.pending.get(about);
    if (p && !p.to.includes(id) && p.to.length < this.cap) p.to.push(id);
  }

  /** Re-sends what is due and still `holds`; drops what no longer does. */
  due(now: number, every: number, holds: (u: ToldUpdate) => boolean, out: Effect[]): void {
    for (const [id, p] of this.pending) {
      if (p.at > now) continue;
      if (!holds(p.update)) {
        this.pending.delete(id);
        continue;
      }
      out.push({ type: 'tell', to: [...p.to], update: p.update });
      p.at = now + every;
      if (--p.left <= 0) this.pending.delete(id);
    }
  }

  get wakeAt(): number {
    let at = Number.POSITIVE_INFINITY;
    for (const p of this.pending.values()) at = Math.min(at, p.at);
    return at;
  }
}
