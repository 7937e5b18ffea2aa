import { type SwimConfig, syncIntervalFor } from './config.ts';

/**
 * When to run anti-entropy and with whom. Pure; the core owns one.
 *
 * Routine syncs run every `syncIntervalFor(N)` with a random ring neighbour: those are connected
 * already, and when views agree a sync is a hash and "same", so an idle pool pays ~100 B per
 * interval and no handshake. A sync that brought a member we did not hold ("news") is followed
 * one probe interval later by another, with a random member of the whole table — an epidemic:
 * whoever learns a joiner passes it on within a second to someone picked pool-wide, so a member
 * missed by its announcement reaches every view in O(log N) seconds instead of one ring hop per
 * sync interval (N=20 at load 2–27: 21 s median from a member's start until every view held it).
 * Follow-ups chain only while syncs keep bringing news, at most one per probe interval, so an idle
 * agent's cost is unchanged and a busy one's is bounded per agent, not per member.
 *
 * Partners are only members `syncable` accepts (the shell: those whose record, and so address,
 * it holds): a liveness entry can arrive before the record, and a sync with such a member failed
 * with "no valid addresses" and repaired nothing.
 */
export class SyncSchedule {
  #next: number;
  #followUp = false;

  constructor(
    private readonly cfg: SwimConfig,
    private readonly self: string,
    private readonly syncable: (id: string) => boolean,
    private readonly rand: () => number,
    now: number,
    members: number,
  ) {
    this.#next = now + Math.floor(rand() * syncIntervalFor(cfg, members));
  }

  /** When the next sync is due. */
  get wakeAt(): number {
    return this.#next;
  }

  /** A sync brought a member we did not hold: pass it on within a probe interval. */
  news(now: number): void {
    const at = now + this.cfg.probeInterval;
    if (at < this.#next) {
      this.#next = at;
      this.#followUp = true;
    }
  }

  /**
   * The partner of a sync due at `now` (undefined: none due, or nobody fits), scheduling the next
   * a routine interval later. `near` are the ring neighbours, `live` every live member.
   */
  due(now: number, members: number, near: readonly string[], live: () => Iterable<string>): string | undefined {
    if (now < this.#next) return undefined;
    const wide = this.#followUp;
    this.#next = now + syncIntervalFor(this.cfg, members);
    this.#followUp = false;
    const ok = (id: string) => id !== this.self && this.syncable(id);
    return (wide ? undefined : pickOne(near, ok, this.rand)) ?? pickOne(live(), ok, this.rand);
  }
}

/** One of `ids` that `ok` accepts, uniformly (reservoir sampling: one pass, no copy). */
export function pickOne(ids: Iterable<string>, ok: (id: string) => boolean, rand: () => number): string | undefined {
  let pick: string | undefined;
  let seen = 0;
  for (const id of ids) {
    if (!ok(id)) continue;
    seen++;
    if (rand() * seen < 1) pick = id;
  }
  return pick;
}
