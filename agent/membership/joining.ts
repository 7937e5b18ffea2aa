import { multiaddr } from '@multiformats/multiaddr';
import { sample } from '../../shared/seeded-random.ts';
import { ownTimer, type Repeat } from '../beat.ts';
import { DIAL_MS, type PoolNode } from '../p2p/node.ts';
import { firstToAnswer } from './join-race.ts';
import { type LostMembers, retryLost } from './reconnect.ts';

export interface JoiningOptions {
  node: PoolNode;
  self: string;
  /** Multiaddrs (with or without /p2p/) of the seeds. */
  bootstrap: string[];
  now: () => number;
  running: () => boolean;
  /** Our own listen addresses (a seed that is us is skipped). */
  ownAddrs: () => readonly string[];
  /** Members we hold alive, with their addresses. */
  knownAlive: () => Iterable<{ id: string; addrs: readonly string[] }>;
  isAlive: (id: string) => boolean;
  lost: LostMembers;
  /** Pulls the table from a peer (and pushes what we hold about it); false when it failed. */
  sync: (peer: string, hash?: string) => Promise<boolean>;
  /** Publishes our record and liveness (again). */
  announce: () => void;
  log: (msg: string, fields: Record<string, unknown>) => void;
  /** The lost-member retry's timer (agent/beat.ts); default its own. */
  repeat?: Repeat;
}

/**
 * Seeds a join round tries at most, one at a time in random order (the next one also when the
 * last is silent for JOIN_STAGGER_MS, join-race.ts), stopping at the first that answers: its
 * table is the whole pool, so dialling the others only adds handshakes. Random, so
 * a storm of joiners given the same seeds spreads over them instead of queueing at the first;
 * a few, so a round whose seeds are not listening yet (refused at once) still reaches one that is.
 */
export const JOIN_SEEDS_PER_ROUND = 3;
/** First retry of the seeds not known yet (ms); each failed round doubles it, up to REJOIN_MAX_MS. */
const REJOIN_MS = 2000;
const REJOIN_MAX_MS = 30_000;
/**
 * The backoff's ceiling while we hold no other member (ms): a joiner whose every join dial timed
 * out is in no view and nobody looks for it (2 of 40 stayed alone for 200 s under load, waiting
 * up to 30 s between rounds). One agent's rounds are a few dials, whatever N.
 */
const LONELY_REJOIN_MAX_MS = 4000;
/**
 * How long a join dial may take (ms). Fifty agents joining through one seed on two loaded cores
 * take seconds each to handshake: with 3 s every joiner gave up mid-handshake and retried, so
 * the seed spent its CPU on handshakes nobody waited for and most joiners never got in. Longer
 * than the seed's own limit for an inbound upgrade, so the seed never finishes one we left.
 */
const JOIN_DIAL_MS = DIAL_MS + 5_000;
/** How long a join's table pull may take (ms), as long as any other (sync.ts's SYNC_OPEN_MS); the same reason. */
export const JOIN_SYNC_MS = 20_000;
/** At most one dial to a lost member per RECONNECT_MS. */
const RECONNECT_MS = 1000;
/**
 * When a joiner announces itself after its join sync (ms): once, at the first of these at which
 * some peer's topic subscriptions have reached us (gossipsub publishes only to subscribed peers
 * and does not replay), else at the last. It announced at all three: each copy is two messages
 * (record and alive) that every member receives, verifies and forwards; in a join storm of 50 the
 * repeats were 2 of the 7.5-8.8 alive messages each joined agent published. A sync that finds us
 * missing from a peer's table announces us again (`pulled`), and every member that learns us
 * passes us on by its follow-up syncs.
 */
export const ANNOUNCE_AFTER = [200, 1000, 3000];
/** Least time between two announcements asked for by a sync that found us missing (ms). */
const REANNOUNCE_MS = 5000;
/** Least time between two pulls from the same member we do not hold alive (ms); and how many are remembered. */
const PULL_UNKNOWN_MS = 10_000;
const PULL_UNKNOWN_MAX = 1000;

/**
 * The pause before the next join round (ms): doubled after each round that reached no seed, up to
 * REJOIN_MAX_MS (LONELY_REJOIN_MAX_MS while we hold no other member), and jittered by ±50 % (`rand`
 * in [0, 1)) so joiners turned away together do not come back together. Seeds that came up a
 * moment late still merge: rounds never stop while a seed is unknown.
 */
export function rejoinDelay(failedRounds: number, rand: number, lonely = false): number {
  const most = lonely ? LONELY_REJOIN_MAX_MS : REJOIN_MAX_MS;
  const base = Math.min(most, REJOIN_MS * 2 ** Math.min(failedRounds, 10));
  return Math.round(base * (0.5 + rand));
}

/** The seeds one join round tries, in order: a random few of those not known yet. */
export function joinCandidates(unknown: readonly string[], rand: () => number): string[] {
  return sample([...unknown], JOIN_SEEDS_PER_ROUND, rand);
}

/**
 * Whether a peer's table (from a sync) lacks what we published about ourselves: no entry for
 * us on its rings, or an older record. Then our announcement was lost on its way to that peer.
 */
export function missesUs(
  self: string,
  ownSeq: number | undefined,
  table: { entries: readonly { id: string; state: string }[]; records: readonly { peerId: string; seq: number }[] },
): boolean {
  const entry = table.entries.find((e) => e.id === self);
  if (!entry || (entry.state !== 'alive' && entry.state !== 'suspect')) return true;
  const record = table.records.find((r) => r.peerId === self);
  return ownSeq !== undefined && (record === undefined || record.seq < ownSeq);
}

/**
 * Joining and re-joining: pulls the table from one seed not known yet, trying a random few in
 * turn (joinCandidates), at start and then after a backoff that grows while no seed answers; rounds
 * go on while any seed is unknown (seeds that came up a moment late left a bootstrap of 3 agents
 * as two pools that never met), and retries lost members one at a time (a healed
 * partition merges when a sync lets each side learn it was declared dead). After a join, our
 * record and liveness are published again a few times: the first announcement went out before
 * any peer was subscribed, and gossipsub does not replay (receivers that have them ignore the
 * copies). A later sync that finds us missing from a peer's table announces us once more: in a
 * startup storm every copy can be lost, and a member nobody holds is probed and synced by nobody.
 */
export class Joining {
  readonly #o: JoiningOptions;
  #timers: NodeJS.Timeout[] = [];
  #stopRetry: (() => void) | undefined;
  #rejoin: NodeJS.Timeout | undefined;
  #joining = false;
  #failedRounds = 0;
  #lastAnnounce = -Infinity;
  /** Members we pulled from because they spoke to us unknown, with when. */
  readonly #pulledUnknown = new Map<string, number>();

  constructor(opts: JoiningOptions) {
    this.#o = opts;
  }

  start(): void {
    void this.#join().finally(() => this.#scheduleRejoin());
    this.#stopRetry = (this.#o.repeat ?? ownTimer)(RECONNECT_MS, () => void retryLost(this.#o));
  }

  stop(): void {
    this.#stopRetry?.();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
    clearTimeout(this.#rejoin);
    this.#rejoin = undefined;
  }

  /** A sync with `peer` returned its table: if our announcement never reached it, announce again. */
  pulled(table: Parameters<typeof missesUs>[2], ownSeq: number | undefined): void {
    const now = this.#o.now();
    // A join round's own pull (the seed answered before our announcement went out): the round
    // announces us once it ends (#announceAt). Announcing here too sent every joiner's alive and
    // record twice, 0.2-0.3 s apart, to the whole pool (join storm of 100, session 17).
    if (!this.#o.running() || this.#joining || now - this.#lastAnnounce < REANNOUNCE_MS) return;
    if (!missesUs(this.#o.self, ownSeq, table)) return;
    this.#lastAnnounce = now;
    this.#o.announce();
  }

  /**
   * A member we hold no record of spoke to us (a probe: it holds us as its ring neighbour): pull
   * its table, which carries its record and liveness. A joiner whose announcements were all lost
   * is then held by its ring neighbours, and anti-entropy carries it to the rest.
   */
  heardFrom(id: string): void {
    const o = this.#o;
    if (!o.running() || id === o.self) return;
    const now = o.now();
    if (now - (this.#pulledUnknown.get(id) ?? -Infinity) < PULL_UNKNOWN_MS) return;
    if (this.#pulledUnknown.size >= PULL_UNKNOWN_MAX) {
      for (const [k, at] of this.#pulledUnknown) if (now - at >= PULL_UNKNOWN_MS) this.#pulledUnknown.delete(k);
      if (this.#pulledUnknown.size >= PULL_UNKNOWN_MAX) return;
    }
    this.#pulledUnknown.set(id, now);
    void o.sync(id);
  }

  #scheduleRejoin(): void {
    if (!this.#o.running()) return;
    this.#rejoin = setTimeout(
      () => {
        const go = !this.#joining && this.unknownSeeds().length > 0;
        void (go ? this.#join() : Promise.resolve()).finally(() => this.#scheduleRejoin());
      },
      rejoinDelay(this.#failedRounds, Math.random(), this.#lonely()),
    );
  }

  /** Whether we hold no other member alive: our join has not taken yet. */
  #lonely(): boolean {
    for (const _ of this.#o.knownAlive()) return false;
    return true;
  }

  /** Seeds that are neither us nor a member we hold alive. */
  unknownSeeds(): string[] {
    const o = this.#o;
    const own = new Set(o.ownAddrs());
    const known = new Set<string>();
    for (const m of o.knownAlive()) {
      known.add(m.id);
      for (const a of m.addrs) known.add(a);
    }
    return o.bootstrap.filter((addr) => {
      const [base = addr, peer] = addr.split('/p2p/');
      return peer !== o.self && !own.has(base) && !known.has(base) && !(peer && known.has(peer));
    });
  }

  async #join(): Promise<void> {
    this.#joining = true;
    try {
      let left = joinCandidates(this.unknownSeeds(), Math.random);
      const failed = new Set<string>();
      let joined = false;
      // Each pass drops its winner and the dials that failed: at most JOIN_SEEDS_PER_ROUND passes.
      while (!joined && left.length > 0 && this.#o.running()) {
        // A table pulled from an earlier seed of this round may already hold some of them.
        const unknown = new Set(this.unknownSeeds());
        left = left.filter((addr) => unknown.has(addr) && !failed.has(addr));
        const won = await firstToAnswer(left, (addr, signal) =>
          this.#dial(addr, signal).catch((err: unknown) => {
            // Aborted because another seed answered: still worth a try if that one's sync fails.
            if (!signal.aborted) failed.add(addr);
            throw err;
          }),
        );
        if (!won) break;
        left = left.filter((addr) => addr !== won.item);
        joined = won.value !== this.#o.self && (await this.#o.sync(won.value, ''));
      }
      this.#failedRounds = joined ? 0 : this.#failedRounds + 1;
      if (joined) this.#announceAt(0);
    } finally {
      this.#joining = false;
    }
  }

  /** Dials one seed; resolves with its peer id. A dial aborted because another seed answered is not logged. */
  async #dial(addr: string, signal: AbortSignal): Promise<string> {
    try {
      // Seeds may name no peer id (EC2 user data knows only an address): take it from the connection.
      const timeout = AbortSignal.timeout(JOIN_DIAL_MS);
      const conn = await this.#o.node.dial(multiaddr(addr), { signal: AbortSignal.any([signal, timeout]) });
      return conn.remotePeer.toString();
    } catch (err) {
      if (!signal.aborted) this.#o.log('join-dial-failed', { addr, error: (err as Error).message });
      throw err;
    }
  }

  /** Announces at slot `i` of ANNOUNCE_AFTER if a peer has subscribed by then or it is the last slot, else waits for the next. */
  #announceAt(i: number): void {
    const ms = ANNOUNCE_AFTER[i];
    if (ms === undefined) return;
    const wait = ms - (ANNOUNCE_AFTER[i - 1] ?? 0);
    const t = setTimeout(() => {
      if (i < ANNOUNCE_AFTER.length - 1 && !this.#subscribed()) this.#announceAt(i + 1);
      else this.#announce();
    }, wait);
    this.#timers.push(t);
  }

  /**
   * Whether some peer's subscriptions have reached us: a peer sends all its topics in one message
   * and every member subscribes to the same ones at start, so any topic of ours will do. A node
   * without pubsub (a test's fake) counts as subscribed.
   */
  #subscribed(): boolean {
    const pubsub = (this.#o.node.services as Partial<PoolNode['services']> | undefined)?.pubsub;
    return !pubsub || pubsub.getTopics().some((topic) => pubsub.getSubscribers(topic).length > 0);
  }

  #announce(): void {
    if (!this.#o.running()) return;
    this.#lastAnnounce = this.#o.now();
    this.#o.announce();
  }
}
