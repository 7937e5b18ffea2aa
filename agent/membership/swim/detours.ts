import type { Effect, ToldUpdate } from './types.ts';

type Suspicion = Extract<ToldUpdate, { kind: 'suspect' }>;
type Alive = Extract<ToldUpdate, { kind: 'alive' }>;

/**
 * What a told update does when its direct path fails (issue 13: mid-storm the accuser's dial to the
 * suspect times out, so the suspect never hears it, cannot refute, and its observers' timers run to
 * a false death). A suspicion that could not be told to the suspect is published once on the members
 * topic (`reroute`), where only the suspect applies it; the suspect answers a suspicion that came that
 * way, or a refutation of its own that could not be told, with its alive to the pool (`broadcast`), so
 * the accuser hears it. Each at most once: per suspicion (member, incarnation), per incarnation of
 * ours. Nothing is sent when delivery works: a suspicion is still never flooded when its tell arrives.
 */
export class Detours {
  /** Suspicions already rerouted: member → incarnation. At most `cap` (oldest forgotten first). */
  private readonly rerouted = new Map<string, number>();
  /** Our incarnation last announced to the pool. */
  private aloud = -1;
  /** Suspicions rerouted and our alives flooded so far (counts.ts). */
  readonly counts = { rerouted: 0, floods: 0 };

  constructor(
    private readonly self: string,
    private readonly cap: number,
  ) {}

  /**
   * A tell to `to` could not be delivered (a send failure that is not a refusal: the shell says so).
   * `holds`: whether we still hold what it says (core.ts).
   */
  undelivered(to: string, u: ToldUpdate, holds: (u: ToldUpdate) => boolean, out: Effect[]): void {
    if (!holds(u)) return;
    if (u.kind === 'suspect') this.reroute(to, u, out);
    else if (u.id === this.self) this.refuteOnce(u, out);
  }

  /** Refutes to the pool, unless we already did at this incarnation; whether it did. */
  refuteOnce(alive: Alive, out: Effect[]): boolean {
    if (alive.incarnation === this.aloud) return false;
    this.announce(alive, out);
    return true;
  }

  /** Our alive to the pool (join, restart, refuting a death or a rerouted suspicion). */
  announce(alive: Alive, out: Effect[]): void {
    this.aloud = alive.incarnation;
    this.counts.floods++;
    out.push({ type: 'broadcast', update: alive });
  }

  private reroute(to: string, u: Suspicion, out: Effect[]): void {
    // Only the suspect can refute: an observer that missed it is not worth the pool's traffic.
    if (to !== u.id || this.rerouted.get(u.id) === u.incarnation) return;
    this.rerouted.delete(u.id);
    if (this.rerouted.size >= this.cap) this.rerouted.delete(this.rerouted.keys().next().value as string);
    this.rerouted.set(u.id, u.incarnation);
    this.counts.rerouted++;
    out.push({ type: 'reroute', update: u });
  }
}
