import type { MetricMap } from '../../shared/wire/metrics.ts';
import type { ProbeFrame } from '../../shared/wire/probe.ts';
import {
  boundBytes,
  RELAY_LIMITS,
  relayedBytes,
  reportBody,
  type SignedReport,
} from '../../shared/wire/relay-report.ts';
import { isRefused } from '../transport/channel.ts';
import { MAX_FRAME } from '../transport/frames.ts';
import type { LoadBook } from './book.ts';
import type { Leader, RelaySigning } from './relay-sign.ts';

/**
 * How far a relayed report's `at` (the origin's wall clock) may be from the leader's (ms). A report
 * counts on the leader until at + leaseTimeout, its `at` capped at the leader's now, so a relay
 * that holds reports back extends no lease past sample time + leaseTimeout + this skew.
 */
export const RELAY_CLOCK_SKEW = 1_000;
/** Room for the frame's own fields (tag, term, the relay's metrics, hop) beside the reports. */
const FRAME_BYTES = MAX_FRAME - 1_024;

/**
 * The direct part of a load frame: the term this node names (its own lease acknowledgement; 0:
 * none, as while it waits out another leader's lease, leadership/wait-out.ts), the leader whose
 * term it is (issue 15: the frame's parent may be another member, even another claimant of that
 * term) and when it was sampled (wall clock, ms).
 */
export interface Named {
  term: number;
  at: number;
  leader?: string;
}

/** `now` is the wall clock: report times are compared across members. */
export interface RelayUpOptions extends RelaySigning {
  /** How long a relay gathers its children's reports before it sends them on in one frame (ms). */
  relayDelay: number;
  /** Reports a relay holds at once (one per origin), and origins whose seq the leader keeps. */
  maxMembers: number;
  /** A relayed report older than this (plus RELAY_CLOCK_SKEW) never counts (ms). */
  leaseTimeout: number;
  /** This node's parent in the tree rooted at `leader` (the leader itself when adjacent). */
  parent: (leader: Leader) => string;
  /** Whether `id` is a member this node knows (a report from any other key is not counted). */
  isMember: (id: string) => boolean;
  send: (to: string, frame: ProbeFrame) => Promise<void>;
  debug?: (msg: string, fields: Record<string, unknown>) => void;
}

/**
 * Load reports up the relay tree (relay-tree.ts). A follower signs its report and sends it to its
 * parent; a relay gathers what reaches it for `relayDelay` and sends it on verbatim, one report per
 * origin (the newest), in as few frames as fit; the leader checks each report before it counts as
 * that member's lease acknowledgement: a known member, its own signature, a seq above the last one
 * taken from it, a time within the lease window of the leader's clock.
 */
export class RelayUp {
  readonly #o: RelayUpOptions;
  /** Seeded from the wall clock, so a restarted agent's reports still rise. */
  #seq: number;
  readonly #pending = new Map<string, SignedReport>();
  #pendingHop = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Leading: the highest seq taken from each origin. */
  readonly #highest = new Map<string, number>();
  /** Leading: whether each origin's last counted report was bound to this node (false: plain): which check goes first. */
  readonly #bound = new Map<string, boolean>();
  /** Leading: an origin that had bound sent a plain report since the last takeRebind. */
  #rebind = false;
  /** Following: a leader's seal said it counts bound reports; reports are bound since (but see #plainFor). */
  #binds = false;
  /**
   * Following: the leader whose own seal, in the term followed, came without the flag (a previous
   * release's leader, as after a rollback, or a relay that strips it): reports to it are plain.
   */
  #plainFor: string | null = null;
  /** This node's metrics as last reported: the direct part of a frame that only relays. */
  #metrics: MetricMap = {};

  constructor(opts: RelayUpOptions) {
    this.#o = opts;
    this.#seq = opts.now();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
  }

  forget(peer: string): void {
    this.#highest.delete(peer);
    this.#bound.delete(peer);
    this.#pending.delete(peer);
  }

  /**
   * Following: a seal of the leader followed, verified as its own in its term, said whether the
   * leader counts reports bound to it (relay-report.ts SummarySeal.binds). Once one said so, this
   * node binds every report for as long as it runs — except to a leader whose latest seal did not
   * say so: a previous release checks only plain reports. Before the first flagged seal it signs
   * plain, so a fresh pool's first reports, before its first summary, are plain.
   */
  sealFrom(leader: string, binds: boolean): void {
    if (binds) this.#binds = true;
    if (binds && this.#plainFor === leader) this.#plainFor = null;
    else if (!binds) this.#plainFor = leader;
  }

  /** Following: whether this node binds its reports to `leader`. */
  bindsTo(leader: string): boolean {
    return this.#binds && this.#plainFor !== leader;
  }

  /**
   * Leading: whether an origin that had bound its reports sent a plain one since the last call (a
   * restart: it signs plain until a flagged seal reaches it, which otherwise comes only at the next
   * summary interval, up to N s). The exchange seals early then.
   */
  takeRebind(): boolean {
    const r = this.#rebind;
    this.#rebind = false;
    return r;
  }

  /** Leading: whether `origin`'s signed reports have reached this node (it runs this release). */
  signs(origin: string): boolean {
    return this.#highest.has(origin);
  }

  /** This node's report for `leader`, signed (bound to it when bindsTo), naming `named`'s term at its time. */
  async own(leader: Leader, metrics: MetricMap, named = this.#naming(leader)): Promise<SignedReport> {
    const r = { origin: this.#o.self, term: named.term, seq: ++this.#seq, at: named.at, metrics };
    const body = reportBody(r);
    return {
      ...r,
      body,
      sig: await this.#o.sign(this.bindsTo(leader.peerId) ? boundBytes(body, leader.peerId) : body),
    };
  }

  /**
   * Following: sends this node's report (and what it holds of others') to its parent; if that send
   * fails, to the leader directly for this round: a broken tree costs a dial, never a lease.
   * `named`: the term the report names (default `leader`'s) and its sample time.
   */
  async report(leader: Leader, metrics: MetricMap, named = this.#naming(leader)): Promise<void> {
    this.#metrics = metrics;
    const own = await this.own(leader, metrics, named);
    const held = this.#take();
    await this.#sendUp(leader, metrics, [own, ...held.reports], held.hop, named);
  }

  #naming(leader: Leader | null): Named {
    return leader ? { term: leader.term, at: this.#o.now(), leader: leader.peerId } : { term: 0, at: this.#o.now() };
  }

  /**
   * Following: reports a child sent, to send on within relayDelay up the tree rooted at `leader`.
   * With no `leader` (a child that follows a leader this node has not seen claim yet, at a
   * failover) they wait for this node's next report, which goes out as soon as it follows that
   * leader (LeaderDuty's onFollow). `own` says, when the frame goes, what its direct part names:
   * the term this node itself follows (sampled then), so a relay that passes on a new leader's
   * reports before it follows that leader is not counted as acknowledging it (default: `leader`'s).
   */
  hold(
    reports: readonly SignedReport[],
    hop: number,
    leader: Leader | null,
    own: () => Named = () => this.#naming(leader),
  ): void {
    for (const r of reports) {
      if (r.origin === this.#o.self) continue;
      const cur = this.#pending.get(r.origin);
      if (cur ? cur.seq >= r.seq : this.#pending.size >= this.#o.maxMembers) continue;
      this.#pending.set(r.origin, r);
    }
    this.#pendingHop = Math.max(this.#pendingHop, hop + 1);
    if (!leader || this.#timer || this.#pending.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const held = this.#take();
      if (held.reports.length > 0) void this.#sendUp(leader, this.#metrics, held.reports, held.hop, own());
    }, this.#o.relayDelay);
  }

  /**
   * Leading: the relayed reports that count, recorded in `book` (at their own time, capped at now):
   * signed by their origin bound to this node, or plain (#verify). Returns how many counted.
   */
  async accept(reports: readonly SignedReport[], book: LoadBook): Promise<number> {
    const o = this.#o;
    let counted = 0;
    for (const r of reports) {
      if (r.origin === o.self || !o.isMember(r.origin)) continue;
      const now = o.now();
      if (r.at > now + RELAY_CLOCK_SKEW || now - r.at > o.leaseTimeout + RELAY_CLOCK_SKEW) continue;
      if ((this.#highest.get(r.origin) ?? -1) >= r.seq) continue;
      const bound = await this.#verify(r);
      if (bound === null) continue;
      // Checked again: another frame may have taken a later one while this one was verified.
      if ((this.#highest.get(r.origin) ?? -1) >= r.seq) continue;
      if (!this.#highest.has(r.origin) && this.#highest.size >= o.maxMembers) continue;
      this.#highest.set(r.origin, r.seq);
      // Plain after bound: the origin restarted; an early seal makes it bind again (issue 15).
      if (!bound && this.#bound.get(r.origin)) this.#rebind = true;
      this.#bound.set(r.origin, bound);
      book.report(r.origin, { metrics: r.metrics, at: Math.min(r.at, now), term: r.term });
      counted++;
    }
    return counted;
  }

  /**
   * Whether `r` is its origin's, for this node (issue 15): true, bound to this node; false, plain
   * (a previous release, an origin before its first flagged seal or since a restart, or under a
   * relay that strips the flag); null, neither — a report bound to another leader, even in this
   * term, never counts here. A plain report still counts after its origin bound one: refusing it
   * would only cost a restarted follower its acknowledgement and its metrics here until its first
   * flagged seal, and a plain signature can only come from an origin not binding now. One check
   * for a report that counts, as before: the kind its origin sent last goes first (bound for an
   * origin not seen yet); a second only when that fails.
   */
  async #verify(r: SignedReport): Promise<boolean | null> {
    const o = this.#o;
    const bound = () => o.verifier.verify(r.origin, boundBytes(r.body, o.self), r.sig);
    const plain = () => o.verifier.verify(r.origin, r.body, r.sig);
    if (this.#bound.get(r.origin) === false) return (await plain()) ? false : (await bound()) ? true : null;
    return (await bound()) ? true : (await plain()) ? false : null;
  }

  #take(): { reports: SignedReport[]; hop: number } {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const reports = [...this.#pending.values()];
    const hop = this.#pendingHop;
    this.#pending.clear();
    this.#pendingHop = 0;
    return { reports, hop };
  }

  /** `named`: what the frame's direct part names (this node's own acknowledgement) and when. */
  async #sendUp(leader: Leader, metrics: MetricMap, reports: SignedReport[], hop: number, named: Named): Promise<void> {
    const o = this.#o;
    if (hop > RELAY_LIMITS.hops) {
      o.debug?.('load-relay-dropped', { reason: 'hops', hop, reports: reports.length });
      return;
    }
    const parent = o.parent(leader);
    for (const batch of batches(reports)) {
      const frame: ProbeFrame = { t: 'load', ...named, metrics, hop, relayed: batch };
      try {
        await o.send(parent, frame);
      } catch (err) {
        // To the leader once more (a fresh stream or dial; a report to the leader lost to one slow
        // dial cost the lease two loadIntervals, exchange.ts) unless it refused: it is gone.
        if (parent === leader.peerId && isRefused(err)) continue;
        if (parent !== leader.peerId)
          o.debug?.('load-relay-parent-failed', { parent, leader: leader.peerId, error: (err as Error).message });
        await o.send(leader.peerId, frame).catch(() => undefined);
      }
    }
  }
}

/** Reports cut into frames that fit the probe channel (at most RELAY_LIMITS.reports each). */
export function batches(reports: readonly SignedReport[]): SignedReport[][] {
  const out: SignedReport[][] = [];
  let cur: SignedReport[] = [];
  let size = 0;
  for (const r of reports) {
    const bytes = relayedBytes(r);
    if (cur.length > 0 && (size + bytes > FRAME_BYTES || cur.length >= RELAY_LIMITS.reports)) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(r);
    size += bytes;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
