import type { LeaderWindows } from '../../shared/scaling/windows.ts';
import type { LoadSummary } from '../../shared/wire/heartbeat.ts';
import type { MetricMap } from '../../shared/wire/metrics.ts';
import type { ProbeFrame, SealedSummary } from '../../shared/wire/probe.ts';
import type { SignedReport } from '../../shared/wire/relay-report.ts';
import type { RuleWindow } from '../../shared/wire/summary-frame.ts';
import { leaseTimeout } from '../leadership/lease.ts';
import type { WaitOut } from '../leadership/wait-out.ts';
import { isRefused } from '../transport/channel.ts';
import { MAX_FRAME } from '../transport/frames.ts';
import { LoadBook, summaryInterval } from './book.ts';
import { ReportNaming } from './naming.ts';
import type { RelayDown } from './relay-down.ts';
import type { Named, RelayUp } from './relay-up.ts';
import { summaryFrames, summaryRows } from './summary.ts';

export interface LoadExchangeOptions {
  self: () => string;
  now: () => number;
  loadInterval: number;
  /** The leader this node follows, and the term (null: none). */
  leader: () => { peerId: string; term: number } | null;
  /** This node's current metrics. */
  metrics: () => MetricMap;
  send: (to: string, frame: ProbeFrame) => Promise<void>;
  /** Members this node sees (for the summary's interval and content). */
  memberIds: () => string[];
  maxMembers: number;
  /** Leading: the peers this node's EC2 listing refused, carried in its summary (none: no list). */
  unbound?: () => string[];
  /** Leading: its scaling rules' windows, carried in its summary (the scalers' windows()). */
  windows?: () => RuleWindow[];
  /**
   * Following: the leader's summary named `refused` as unbound and counts `counted` (its rows),
   * and sends summaries every `interval` ms; only ever called for the leader this node follows.
   */
  /**
   * Reports up the relay tree (relay-up.ts): following, this node's report goes to its tree parent
   * signed, and what its children send it goes on; leading, relayed reports count once checked.
   * Absent: every report goes to the leader directly (the previous release's way).
   */
  relay?: RelayUp;
  /**
   * The leader's summary down the relay tree, sealed (relay-down.ts); members whose reports come
   * unsigned (the previous release) still get it point to point. Absent: point to point to all.
   */
  down?: RelayDown;
  /**
   * A member (alive or suspect) that claims `term`, if this node knows one: at a failover, reports
   * naming the new leader's term go on up the tree rooted at it before this node follows it.
   */
  claimant?: (term: number) => string | undefined;
  /**
   * The follower's promise (leadership/wait-out.ts): a report names a leader's term only once this
   * node has waited out the last other leader it acknowledged (naming.ts). Absent: every report
   * names the leader followed (tests of other parts).
   */
  waitOut?: WaitOut;
  onVerdicts?: (
    leader: { peerId: string; term: number },
    v: { refused: string[]; counted: string[] },
    interval: number,
  ) => void;
}

/**
 * Least time between two summaries to a member, and the extra time per member (ms). A summary is
 * ~90 B per member and goes to each follower once per interval, point to point, so a follower
 * receives ~90 B per SUMMARY_PER_MEMBER — ~90 B/s, flat in N — and its view of others' metrics is
 * up to max(5 s, N s) old (the leader's own view is fresh). The leader sends N times that.
 */
const SUMMARY_MIN = 5_000;
const SUMMARY_PER_MEMBER = 1_000;
/** Room left in a frame for the CBOR headers a row measured alone does not count. */
const SUMMARY_FRAME_BYTES = MAX_FRAME - 256;

/** How often the leader sends each follower its summary in a pool of `n` members (ms). */
export function summaryEvery(n: number): number {
  return summaryInterval(n, SUMMARY_MIN, SUMMARY_PER_MEMBER);
}

/**
 * Load at a bounded rate: every member reports its metrics to the leader every `loadInterval`;
 * the leader keeps them (they are also its lease acknowledgements) and sends each member that
 * follows it a summary of every member's metrics at an interval that grows with N, which
 * followers serve in /cluster. Point to point on the probe channel, not over gossipsub: the mesh
 * delivered each summary ~6 times to every agent, plus IHAVE gossip about it.
 */
export class LoadExchange {
  readonly #o: LoadExchangeOptions;
  readonly book: LoadBook;
  #timer: NodeJS.Timeout | undefined;
  /** When each follower last got the summary (only followers that reported recently). */
  #sentAt = new Map<string, number>();
  #summarised = 0;
  /** The refused peers the last summaries carried (a new one is worth an early summary). */
  #refusedSent = new Set<string>();
  /** Following: the last summary from the leader followed (when it came, on this node's clock). */
  #last: { peerId: string; term: number; at: number; every: number; windows: LeaderWindows } | null = null;
  /** Following: what each report names, and the one due when a wait-out ends. */
  readonly #naming: ReportNaming;

  constructor(opts: LoadExchangeOptions) {
    this.#o = opts;
    this.book = new LoadBook(opts.maxMembers);
    this.#naming = new ReportNaming({ ...opts, report: () => void this.tick() });
  }

  start(): void {
    this.#timer = setInterval(() => void this.tick(), this.#o.loadInterval);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#naming.stop();
    this.#o.relay?.stop();
  }

  /**
   * A load frame from a member: a load report (only a leader gets them), or the summary of the
   * leader this node follows, in its term (from anyone else it is dropped).
   */
  onReport(from: string, frame: ProbeFrame): void {
    if (frame.t === 'load') {
      // Stamped at its sample time (capped at arrival): a frame held back in transit stretches no lease.
      // Naming another leader (issue 15: another claimant of its term), it is metrics, no acknowledgement.
      const now = this.#o.now();
      const term = frame.leader === undefined || frame.leader === this.#o.self() ? frame.term : 0;
      this.book.report(from, { metrics: frame.metrics, at: Math.min(now, frame.at ?? now), term });
      if (frame.relayed) this.#relayed(frame.relayed, frame.hop ?? 0);
      return;
    }
    if (frame.t !== 'summary') return;
    const leader = this.#o.leader();
    if (!leader || leader.term !== frame.term || leader.peerId === this.#o.self()) return;
    if (frame.seal) void this.#sealed(frame, leader);
    else if (leader.peerId === from) this.#take(frame, leader);
  }

  /** A summary sealed by the leader, from whichever member passed it on. */
  async #sealed(frame: SealedSummary, leader: { peerId: string; term: number }): Promise<void> {
    if (!this.#o.down || !(await this.#o.down.take(frame, leader))) return;
    this.#o.relay?.sealFrom(leader.peerId, frame.seal?.binds === true);
    const now = this.#o.leader();
    if (now?.peerId === leader.peerId && now.term === leader.term) this.#take(frame, leader);
  }

  #take(frame: SealedSummary, leader: { peerId: string; term: number }): void {
    this.onSummary({ members: frame.rows });
    const counted = frame.rows.map((r) => r.peerId);
    const every = summaryEvery(this.#o.memberIds().length + 1);
    const at = this.#o.now();
    this.#last = { ...leader, at, every, windows: { at, windows: frame.windows ?? [] } };
    this.#o.onVerdicts?.(leader, { refused: frame.unbound ?? [], counted }, every);
  }

  /** A member was removed: its metrics and the last seq taken from it go. */
  forget(peer: string): void {
    this.book.forget(peer);
    this.#o.relay?.forget(peer);
  }

  /**
   * Reports relayed up the tree: counted when this node leads, else sent on towards the leader.
   * Reports naming a later term than the leader this node follows (or none) go on up the tree
   * rooted at that term's claimant when this node knows it (a failover: its children followed the
   * new leader first; the frame still names the term this node follows, or none while it waits
   * out another leader, so it acknowledges nothing it does not follow), else wait for its next report, sent as soon as it follows the new
   * leader: a failover loses no round.
   */
  #relayed(reports: readonly SignedReport[], hop: number): void {
    const relay = this.#o.relay;
    if (!relay) return;
    const leader = this.#o.leader();
    if (leader?.peerId === this.#o.self()) {
      void relay.accept(reports, this.book);
      return;
    }
    let term = 0;
    for (const r of reports) if (r.term > term) term = r.term;
    // The frame's direct part names what this node itself may name when it goes.
    const own = () => this.#naming.named(this.#o.leader());
    if (leader && term <= leader.term) {
      relay.hold(reports, hop, leader, own);
      return;
    }
    const claimant = this.#o.claimant?.(term);
    relay.hold(reports, hop, claimant ? { peerId: claimant, term } : null, own);
  }

  /**
   * The rule windows of the last summary from the leader this node followed (kept when it stops
   * following it: a new leader starts its timers from them, inheritTimers in shared/scaling/windows.ts).
   */
  leaderWindows(): LeaderWindows | null {
    return this.#last?.windows ?? null;
  }

  /**
   * How much older than the leader's this node's view of others' metrics is (ms): the time since
   * the summary of the leader it follows came, while the next is due (up to 2 intervals); else 0
   * (leading, or the summaries stopped: then ages count in full). The scaler judges a metric's
   * age by maxMetricAge as of that summary, as the leader did when it sent it. Why the age rule and
   * not the interval: above ~maxMetricAge / 1 s members (58 at the defaults) the interval, N s,
   * outlasts maxMetricAge, so every sample expired on followers between summaries and their rule
   * windows restarted at each one; a shorter interval would cost the leader N² rows per interval,
   * the bandwidth the interval exists to bound, while the follower's lag is by design, not silence.
   */
  viewLag(): number {
    const s = this.#last;
    const leader = this.#o.leader();
    if (!s || !leader || leader.peerId !== s.peerId || leader.term !== s.term) return 0;
    const since = this.#o.now() - s.at;
    return since >= 0 && since <= 2 * s.every ? since : 0;
  }

  /** The leader's summary, on a follower (also as an older leader publishes it on the control topic). */
  onSummary(s: Pick<LoadSummary, 'members'>): void {
    const now = this.#o.now();
    for (const m of s.members) {
      if (m.peerId === this.#o.self()) continue;
      this.book.report(m.peerId, { metrics: m.metrics, at: now - m.ageMs, term: 0 });
    }
  }

  /**
   * Following: the load report (the lease acknowledgement) to `leader`, sent again once at once if
   * it fails while this node still follows that leader in that term. The channel has then dropped
   * the failed stream, so the second try opens a new one or dials anew. Issue 13: a follower with no
   * connection to a new leader queued its report on a dial that, under load, outlasted its timeout;
   * the report and the next interval's, which joined the same dial, were both lost, and the lease
   * waited two loadIntervals more. A report that fails twice waits for the next tick.
   */
  async #report(leader: { peerId: string; term: number }, named: Named): Promise<void> {
    const o = this.#o;
    const metrics = o.metrics();
    const send = () => o.send(leader.peerId, { t: 'load', ...named, metrics });
    try {
      await send();
    } catch (err) {
      // Refused: nothing listens there (the leader died); membership will say so.
      if (isRefused(err)) return;
      const now = o.leader();
      if (now?.peerId !== leader.peerId || now.term !== leader.term) return;
      await send().catch(() => undefined);
    }
  }

  async tick(): Promise<void> {
    const o = this.#o;
    const leader = o.leader();
    const now = o.now();
    if (!leader) return;
    if (leader.peerId !== o.self()) {
      const named = this.#naming.named(leader);
      return o.relay ? o.relay.report(leader, o.metrics(), named) : this.#report(leader, named);
    }
    const ids = o.memberIds();
    const reported = ids.filter((id) => this.book.get(id)).length;
    // A member new to the summary, a peer our listing newly refused, or a restarted follower (to
    // bind again) is worth one early summary to all (all rare); else each follower gets it once per interval, counted from its own
    // last one (so sends spread out).
    const refused = o.unbound?.() ?? [];
    const fresh = refused.some((id) => !this.#refusedSent.has(id));
    const grew = reported > this.#summarised || fresh || (o.relay?.takeRebind() ?? false);
    this.#summarised = reported;
    this.#refusedSent = new Set(refused);
    const interval = summaryEvery(ids.length + 1);
    // With the tree, point to point only to followers whose reports come unsigned (previous release).
    const followers = this.book
      .ackers(leader.term, now, leaseTimeout(o.loadInterval))
      .filter((id) => !o.down || !o.relay?.signs(id));
    const sealed = o.down?.due(leader, interval, grew) ?? false;
    // It takes none of its own flagged seals: it learns here to bind once it follows (issue 15).
    if (sealed) o.relay?.sealFrom(o.self(), true);
    const sent = new Map<string, number>();
    const due: string[] = [];
    for (const id of followers) {
      const at = this.#sentAt.get(id);
      if (grew || at === undefined || now - at >= interval) due.push(id);
      else sent.set(id, at);
    }
    for (const id of due) sent.set(id, now);
    this.#sentAt = sent;
    if (due.length === 0 && !sealed) return;
    const frames = summaryFrames(
      leader.term,
      summaryRows(o.self(), o.metrics(), ids, this.book, now),
      SUMMARY_FRAME_BYTES,
      refused,
      o.windows?.() ?? [],
    );
    await Promise.all([
      ...(sealed ? [o.down?.publish(leader, frames)] : []),
      ...due.flatMap((id) => frames.map((f) => o.send(id, f).catch(() => undefined))),
    ]);
  }
}
