import type { LeaderEvent } from '../../shared/wire/cluster.ts';
import type { Heartbeat } from '../../shared/wire/heartbeat.ts';
import { older } from '../leader/claims.ts';
import type { Leadership } from '../leadership.ts';
import type { LoadBook } from '../load/book.ts';
import type { MemberLiveness } from '../membership/swim/types.ts';
import type { AgentMetrics } from '../monitor/prom.ts';
import { ackRuns, countedAckers, freshAcks, holdsLease } from './lease.ts';
import { extendReign, reignAckerIds } from './reign.ts';

export interface LeaderDutyOptions {
  leadership: Leadership;
  now: () => number;
  /** Members with a record, and their liveness (self excluded). */
  members: () => Iterable<{ record: Heartbeat; liveness: MemberLiveness }>;
  load: LoadBook;
  /** Instances the scalers counted while acting in the term this node leads (0 before any). */
  counted: () => number;
  /** The lease window: acknowledgements older than this do not count (ms). */
  leaseTimeout: number;
  /** Whether this node must not act: retired, stopping, or the pool is being terminated. */
  barred: () => boolean;
  /**
   * Acting needs a majority whose acknowledgements were sampled within this window (ms, ≤
   * leaseTimeout; lease.ts actWindow). The lease itself (what the election's yield rules read) keeps
   * leaseTimeout. Default: leaseTimeout.
   */
  actWindow?: number;
  /**
   * Whether this node may count itself towards acting now: it has waited out the last other leader
   * it acknowledged (wait-out.ts), as a follower would before acknowledging it. Default: always.
   */
  selfCounts?: () => boolean;
  /**
   * How late a new reign's first acknowledgements come by design (ms): each follower first waits
   * out the leader it acknowledged before (wait-out.ts), up to actWindow + RELAY_CLOCK_SKEW.
   * Acknowledgements whose run begins within leaseTimeout of the reign's start plus this count at
   * once (lease.ts ackCounts), not after a run of leaseTimeout more. Default 0.
   */
  ackWait?: number;
  metrics: AgentMetrics;
  emit: (e: LeaderEvent) => void;
  /** Publishes our record now (a new claim goes out at once: faster failover). */
  announce: () => void;
  /**
   * Told once each time this node may act in a new term (it leads, holds its lease, not barred):
   * the agent steps its scalers then instead of at their next interval (faster failover).
   */
  onActing?: (term: number) => void;
  /**
   * Told when this node begins to follow another leader (or term): the agent sends its load report
   * (the lease acknowledgement) then instead of at its next loadInterval (faster failover).
   */
  onFollow?: (leader: { peerId: string; term: number }) => void;
  /**
   * Told once per step-down, after `announce`, with the peers that acknowledged a term of the
   * reign within the lease window: the agent pushes our record (its claim gone) to them point to
   * point (membership.pushRecord). A follower keeps following while our record still claims; by
   * gossip alone the cut-off leader's companion saw the step-down 2–4.4 s late at a heal.
   */
  tellFollowers?: (peers: string[]) => void;
  /**
   * Told once per claim of ours (a re-bid included), after `announce`, with the members next in
   * line (the SUCCESSORS oldest alive, not retiring): the agent pushes our record to them point to
   * point. Whoever claims after us numbers its term from its own view, and a follower's new term
   * is not published (record-push.ts): had it missed our claim's one gossip delivery, it would
   * claim our term again until a sync brought it (test/election-missed-claim.test.ts).
   */
  tellSuccessors?: (peers: string[]) => void;
}

/** How many members next in line a claim is pushed to: the next claimant, and one more should it die too. */
export const SUCCESSORS = 2;

/**
 * The leader's side of the agent: one election round per tick on the membership view, and the
 * answer to "may this node act now?" — it leads, is not barred, and holds its quorum lease
 * (a strict majority acknowledged its term recently; see lease.ts).
 */
export class LeaderDuty {
  readonly #o: LeaderDutyOptions;
  /** Since when the lease has counted without a break (undefined: it does not). */
  #leaseSince: number | undefined;
  /** When each acknowledging peer's run without a break began (lease.ts ackRuns). */
  #runs: ReadonlyMap<string, number> = new Map();
  /** The last time the lease counted, or when this reign began (undefined: no reign). */
  #countedAt: number | undefined;
  /** The terms this node has led without a break (reign.ts: their acknowledgements all count). */
  #reign: readonly number[] = [];
  /** The latest count of the reign: a re-bid's new term has none until the scalers act in it. */
  #reignListed = 0;
  /** The term onActing was last told of (null: this node is not acting). */
  #acting: number | null = null;

  constructor(opts: LeaderDutyOptions) {
    this.#o = opts;
  }

  /** How long the lease has been held without a break (ms; 0 when not held). */
  leaseHeldFor(): number {
    return this.#leaseSince === undefined ? 0 : this.#o.now() - this.#leaseSince;
  }

  /** The term this node may act in, or null. */
  actingTerm(): number | null {
    const term = this.#o.leadership.leads;
    // A contested term is never acted in (its tokens may be minted by the rival): the election
    // claims above it first.
    if (term === null || this.#o.barred() || this.#o.leadership.contested) return null;
    return this.#lease(term).acts ? term : null;
  }

  step(): void {
    const o = this.#o;
    const alive: Heartbeat[] = [];
    const suspect: Heartbeat[] = [];
    for (const m of o.members()) {
      if (m.liveness.state === 'alive') alive.push(m.record);
      else if (m.liveness.state === 'suspect') suspect.push(m.record);
    }
    const term = o.leadership.leads;
    const leaseHeld = term !== null && this.#lease(term).held;
    if (term === null) this.#leaseSince = undefined;
    const events = o.leadership.step(alive, o.now(), { leaseHeld, suspect });
    // Before the reign is forgotten: who followed it.
    const followers = events.some((e) => e.type === 'leader-stepped-down') ? this.#reignAckers() : [];
    if (o.leadership.leads === null) {
      this.#reign = extendReign(this.#reign, null);
      this.#reignListed = 0;
      this.#runs = new Map();
      this.#countedAt = undefined;
    }
    for (const e of events) {
      o.metrics.leaderChanges.inc();
      o.emit(e);
      o.announce();
      if (e.type === 'leader-elected' && !e.self) o.onFollow?.({ peerId: e.peerId, term: e.term });
    }
    if (followers.length > 0) o.tellFollowers?.(followers);
    if (events.some((e) => e.type === 'leader-elected' && e.self)) o.tellSuccessors?.(this.#successors());
    o.metrics.leaderTerm.set(o.leadership.leader?.term ?? 0);
    o.metrics.isLeader.set(o.leadership.leads === null ? 0 : 1);
    // Only a leader pays for the second look at its lease (followers have no term to act in).
    const acting = o.leadership.leads === null ? null : this.actingTerm();
    if (acting !== null && acting !== this.#acting) o.onActing?.(acting);
    this.#acting = acting;
  }

  /** The peers that acknowledged a term of the reign within the lease window. */
  #reignAckers(): string[] {
    const now = this.#o.now();
    return [...this.#reignAcking(now, () => now).keys()];
  }

  /** Those peers, each with `arrived(peer)`: the step-down's list and the lease read the same window. */
  #reignAcking(now: number, arrived: (peer: string) => number): Map<string, number> {
    const o = this.#o;
    return reignAckerIds(this.#reign, (t) => o.load.ackers(t, now, o.leaseTimeout), arrived);
  }

  /** The SUCCESSORS oldest alive members that may lead, in the election's order of age (claims.ts). */
  #successors(): string[] {
    const line: Heartbeat[] = [];
    for (const m of this.#o.members()) if (m.liveness.state === 'alive' && !m.record.retiring) line.push(m.record);
    return line
      .sort((a, b) => (older(a, b) ? -1 : 1))
      .slice(0, SUCCESSORS)
      .map((r) => r.peerId);
  }

  /**
   * The lease (a strict majority acknowledged the reign within leaseTimeout: the election reads it)
   * and whether this node may act (a strict majority within actWindow, itself counted only past its
   * wait-out): the window a follower's promise covers (wait-out.ts), so two leaders never act on
   * the same acknowledgements.
   */
  #lease(term: number): { held: boolean; acts: boolean } {
    const o = this.#o;
    this.#reign = extendReign(this.#reign, term);
    const now = o.now();
    const acking = this.#reignAcking(now, (p) => o.load.get(p)?.at ?? now);
    // The pool counts every peer whose acknowledgement counts, not only those alive or suspect in
    // the view: one that left (or is dead but not yet removed) may still have acknowledged, and a
    // majority of a pool that leaves it out is none (finding L: a lone minority member claimed as
    // its old leader left, which acknowledged it at once, 1 of a pool of 1).
    const pool = new Set(acking.keys());
    for (const m of o.members())
      if (m.liveness.state === 'alive' || m.liveness.state === 'suspect') pool.add(m.record.peerId);
    const members = 1 + pool.size;
    this.#runs = ackRuns(this.#runs, acking);
    this.#reignListed = o.counted() || this.#reignListed;
    // A new reign counts as if its lease had counted once its followers' wait-outs end.
    this.#countedAt ??= now + (o.ackWait ?? 0);
    const size = { members, listed: this.#reignListed };
    const ackers = countedAckers(this.#runs, acking, this.#countedAt, o.leaseTimeout);
    const held = holdsLease({ ackers, ...size });
    const window = o.actWindow ?? o.leaseTimeout;
    const fresh = window < o.leaseTimeout ? freshAcks(acking, now - window) : acking;
    const acts =
      held &&
      holdsLease({
        ackers: fresh === acking ? ackers : countedAckers(this.#runs, fresh, this.#countedAt, o.leaseTimeout),
        ...size,
        self: o.selfCounts?.() ?? true,
      });
    if (held) this.#countedAt = now;
    o.metrics.leaseHeld.set(held ? 1 : 0);
    if (!held) this.#leaseSince = undefined;
    else this.#leaseSince ??= o.now();
    return { held, acts };
  }
}
