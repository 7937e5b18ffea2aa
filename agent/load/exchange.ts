import type { LoadSummary } from '../../shared/wire/heartbeat.ts';
import type { MetricMap } from '../../shared/wire/metrics.ts';
import type { ProbeFrame } from '../../shared/wire/probe.ts';
import { LoadBook, summaryInterval } from './book.ts';

export interface LoadExchangeOptions {
  self: () => string;
  now: () => number;
  loadInterval: number;
  /** The leader this node follows, and the term (null: none). */
  leader: () => { peerId: string; term: number } | null;
  /** This node's current metrics. */
  metrics: () => MetricMap;
  send: (to: string, frame: ProbeFrame) => Promise<void>;
  /** Publishes the leader's summary on the control topic. */
  publishSummary: (draft: Omit<LoadSummary, 'v' | 'peerId' | 'seq'>) => Promise<void>;
  /** Members this node sees (for the summary's interval and content). */
  memberIds: () => string[];
  maxMembers: number;
}

/**
 * Least time between two summaries, and the extra time per member (ms). A summary is ~60 B per
 * member and gossipsub relays it over the mesh (D ≈ 6 copies per agent), so an agent pays about
 * 6 × 60 B per SUMMARY_PER_MEMBER — ~360 B/s, flat in N — and a follower's view of others'
 * metrics is up to max(5 s, N s) old (the leader's own view is fresh).
 */
const SUMMARY_MIN = 5_000;
const SUMMARY_PER_MEMBER = 1_000;

/**
 * Load at a bounded rate: every member reports its metrics to the leader every `loadInterval`;
 * the leader keeps them (they are also its lease acknowledgements) and publishes a summary of
 * every member's metrics at an interval that grows with N, which followers serve in /cluster.
 */
export class LoadExchange {
  readonly #o: LoadExchangeOptions;
  readonly book: LoadBook;
  #timer: NodeJS.Timeout | undefined;
  #lastSummary = 0;
  #summarised = 0;

  constructor(opts: LoadExchangeOptions) {
    this.#o = opts;
    this.book = new LoadBook(opts.maxMembers);
  }

  start(): void {
    this.#timer = setInterval(() => void this.tick(), this.#o.loadInterval);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A load report from a member (only a leader gets them). */
  onReport(from: string, frame: ProbeFrame): void {
    if (frame.t !== 'load') return;
    this.book.report(from, { metrics: frame.metrics, at: this.#o.now(), term: frame.term });
  }

  /** The leader's summary, on a follower. */
  onSummary(s: LoadSummary): void {
    const now = this.#o.now();
    for (const m of s.members) {
      if (m.peerId === this.#o.self()) continue;
      this.book.report(m.peerId, { metrics: m.metrics, at: now - m.ageMs, term: 0 });
    }
  }

  async tick(): Promise<void> {
    const o = this.#o;
    const leader = o.leader();
    const now = o.now();
    if (!leader) return;
    if (leader.peerId !== o.self()) {
      await o.send(leader.peerId, { t: 'load', term: leader.term, metrics: o.metrics() }).catch(() => undefined);
      return;
    }
    const ids = o.memberIds();
    const reported = ids.filter((id) => this.book.get(id)).length;
    // A member new to the summary is worth one early summary (joins are rare); else wait the interval.
    const grew = reported > this.#summarised;
    if (!grew && now - this.#lastSummary < summaryInterval(ids.length + 1, SUMMARY_MIN, SUMMARY_PER_MEMBER)) return;
    this.#lastSummary = now;
    this.#summarised = reported;
    const members: LoadSummary['members'] = [{ peerId: o.self(), ageMs: 0, metrics: o.metrics() }];
    for (const id of ids) {
      const e = this.book.get(id);
      if (e) members.push({ peerId: id, ageMs: Math.max(0, now - e.at), metrics: e.metrics });
    }
    await o.publishSummary({ type: 'summary', term: leader.term, at: now, members });
  }
}
