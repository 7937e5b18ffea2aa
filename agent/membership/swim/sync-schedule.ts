import { type SwimConfig, syncIntervalFor } from './config.ts';
import type { SwimCoreOptions } from './core-options.ts';
import type { Effect } from './types.ts';

/**
 * When to run anti-entropy and with whom. Pure; the core owns one.
 *
 * Routine syncs run every `syncIntervalFor(N)` with a random ring neighbour: those are connected
 * already, and when views agree a sync is a hash and "same", so an idle pool pays ~100 B per
 * interval and no handshake.
 *
 * News — a member we did not hold, however we learnt it (its join sync, a sync, a broadcast) — is
 * passed on like a memberlist broadcast with its retransmit budget: `followUpSyncs(N)` push-pull
 * syncs (2⌈log₂(N + 1)⌉), one every `followUpInterval`, each with a member picked pool-wide. Every
 * member that learns a joiner thus pushes it to log N others and the informed set doubles per
 * round: every view holds it in O(log N) rounds. With one follow-up per piece of news (before),
 * each newly informed member informed one more — a chain, linear in N: at N=20, 21 s median from
 * a member's start until every view held it; at N=50 with its announcements lost, never within
 * 15 s (test/swim-join-spread.test.ts). Fresh news renews the budget; once views agree a
 * follow-up is a hash and "same", so a join costs each member a burst of log N syncs, and an idle
 * member nothing more than before.
 *
 * A follow-up counts against the budget when `due` returns it: the shell must carry out every sync
 * asked for (sync-runner.ts queues those that come due while others run; it dropped them before,
 * and on a loaded machine most of the budget went that way).
 *
 * Partners are only members `syncable` accepts (the shell: those whose record, and so address,
 * it holds): a liveness entry can arrive before the record, and a sync with such a member failed
 * with "no valid addresses" and repaired nothing.
 *
 * Follow-ups go to a member the shell is `connected` to, but every FAR_EVERY-th, which draws from
 * the whole pool. All drawn pool-wide, 58-67 % of a storm's syncs went to a member not connected
 * (in-process N=100, 16 connections each): each a new connection (noise handshake, identify,
 * gossipsub's and the probe channel's streams, on both sides) closed again as surplus 10 s later,
 * and the follow-ups queued in a storm kept both hosts saturated with that churn for a minute
 * after every view held everyone. The connections (ring neighbours, who dialled us) form a random
 * graph, so push-pull over them still spreads news in O(log N) rounds; the pool-wide draws keep
 * reaching members no connection leads to yet.
 */
export class SyncSchedule {
  #next: number;
  /** Follow-ups left (`followUpInterval` apart). */
  #followUps = 0;
  /** Follow-ups asked for so far (every FAR_EVERY-th draws pool-wide). */
  #wide = 0;
  #followUp = false;

  constructor(
    private readonly cfg: SwimConfig,
    private readonly self: string,
    private readonly partners: Pick<SwimCoreOptions, 'syncable' | 'connected'>,
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

  /**
   * Whether the partner `due` last returned is a follow-up's: it passes news on, so the two tables
   * almost surely differ and the shell skips the hash ask (membership.ts).
   */
  get followUp(): boolean {
    return this.#followUp;
  }

  /** We learnt a member we did not hold: pass it on, to `followUpSyncs(members)` members pool-wide. */
  news(now: number, members: number): void {
    this.#followUps = followUpSyncs(members);
    this.#next = Math.min(this.#next, now + this.cfg.followUpInterval);
  }

  /**
   * The partner of a sync due at `now` (undefined: none due, or nobody fits), scheduling the next:
   * a follow-up interval later while follow-ups are left, else a routine interval later. `near`
   * are the ring neighbours; a follow-up draws its partner at random from the whole `table`
   * (O(1) per draw), walking its live ids only when a few draws found none that fits.
   */
  due(now: number, near: readonly string[], table: SyncTable): string | undefined {
    const members = table.size;
    if (now < this.#next) return undefined;
    const wide = this.#followUps > 0;
    this.#followUp = wide;
    if (wide) this.#followUps--;
    this.#next = now + (this.#followUps > 0 ? this.cfg.followUpInterval : syncIntervalFor(this.cfg, members));
    const ok = (id: string) => id !== this.self && (this.partners.syncable?.(id) ?? true);
    if (!wide) return pickOne(near, ok, this.rand) ?? pickOne(table.liveIds(), ok, this.rand);
    const { connected } = this.partners;
    const linked = connected && ++this.#wide % FAR_EVERY !== 0 ? pickOne(connected(), ok, this.rand) : undefined;
    if (linked !== undefined) return linked;
    // A few random draws find a fit at once unless most of the table does not (a shell that
    // holds few records yet): then one walk.
    for (let i = 0; i < RANDOM_DRAWS; i++) {
      const id = table.randomLive(this.rand);
      if (id !== undefined && ok(id)) return id;
    }
    return pickOne(table.liveIds(), ok, this.rand);
  }
}

/** What the schedule reads of the member table (table.ts). */
export interface SyncTable {
  readonly size: number;
  /** A live member drawn uniformly, or undefined when the draw hit one that is not live. */
  randomLive(rand: () => number): string | undefined;
  liveIds(): Iterable<string>;
}

/** Whether effects from index `from` on include a member-joined event (news to pass on). */
export function joinedSince(out: readonly Effect[], from: number): boolean {
  for (let i = from; i < out.length; i++) {
    const e = out[i]!;
    if (e.type === 'event' && e.event === 'member-joined') return true;
  }
  return false;
}

/** Every this many follow-ups, one draws its partner pool-wide even when connected members fit. */
export const FAR_EVERY = 4;

/** Random draws before a follow-up's partner pick walks the table. */
const RANDOM_DRAWS = 8;

/** Follow-up syncs after news in a pool of `n`: 2⌈log₂(n + 1)⌉ (memberlist-like retransmit budget, λ = 2). */
export function followUpSyncs(n: number): number {
  return 2 * Math.ceil(Math.log2(Math.max(1, n) + 1));
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
