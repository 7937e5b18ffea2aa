import { encode } from 'cborg';
import { checkRecord, decodeCbor } from '../../shared/wire/codec.ts';
import { type Heartbeat, type MemberUpdate, WIRE_VERSION } from '../../shared/wire/heartbeat.ts';
import type { GossipChannel } from '../gossip.ts';
import type { FramedChannel } from '../transport/channel.ts';
import { type InboxContext, receiveRecord } from './member-inbox.ts';
import type { MembershipOptions } from './membership-options.ts';
import { type RecordBook, recordFingerprint } from './records.ts';

/**
 * Our own record: published on the members topic when a field other than metrics changes (with
 * the seq our liveness updates share), and pushed point to point to given peers on demand. Gossip reaches a member once the mesh (or the
 * publisher's view of who subscribes) includes it, and anti-entropy every ~10 s; a leader that
 * steps down cannot wait for either, because whoever follows it keeps doing so while its record
 * still claims (the election's stability rule): the companion of a cut-off leader saw the
 * step-down 2–4.4 s after it at a heal (BENCHMARKS, session 15), and heal-to-one-leader waited
 * for that. LeaderDuty's `tellFollowers` pushes it to the reign's acknowledgers.
 *
 * Wire: `[18, record]` on the probe stream. The tag lies outside the probe frames' (0–7) and the
 * sync digest's (16, 17), so a frame is ours by its first two bytes (a CBOR array of two, then the
 * tag) and the probe inbox never decodes it; an older agent rejects it as an unknown tag (counted)
 * and gets the record by gossip as before. The stream is the sender's authenticated connection
 * (its peer key, as gossipsub's signature is), so the record must be the sender's own; it goes
 * through the same checks as one on the topic (binding gate, newest seq wins), after the
 * channel's per-peer rate limit.
 */
const TAG = 18;

/**
 * A record whose only change is `term` is published this long after the change (ms, uniform in
 * the range), not within RECORD_CHECK_MS. At a failover every follower's term changes in the same
 * second: N records of N deliveries each (~2,400 signed messages at N=50) held a shared bench
 * host's event loop 1–2 s behind for 4 s, just while the new leader waited for a majority's load
 * reports (issue 13). Nothing waits for a follower's term: claims and step-downs (`leads`) still
 * go at once and carry the term themselves, the lease counts load reports, not records, and a
 * member that missed a claim learns its term from the claimant's record, a control message of the
 * term, or this record a few seconds later (election.ts reads `term` for the next claim's number
 * and the bound of terms.ts, neither of which a delay of seconds can break).
 */
export const TERM_ONLY_DELAY_MS: readonly [number, number] = [2000, 8000];

export class OwnRecord {
  readonly #o: MembershipOptions;
  readonly #book: RecordBook;
  readonly #topic: GossipChannel;
  readonly #probes: FramedChannel;
  #seq: number;
  #fingerprint = '';
  /** The last published record's fingerprint with `term` left out: tells a change of term alone. */
  #termless = '';
  #deferred: NodeJS.Timeout | undefined;

  constructor(o: MembershipOptions, book: RecordBook, topic: GossipChannel, probes: FramedChannel) {
    this.#o = o;
    this.#book = book;
    this.#topic = topic;
    this.#probes = probes;
    this.#seq = o.now();
  }

  /** Publishes a message of ours on the members topic: a record as it was kept, or a liveness update. */
  async publish(msg: Heartbeat | MemberUpdate): Promise<void> {
    await this.#topic.publish(msg).catch((err: Error) => this.#o.log('members-publish-failed', { error: err.message }));
  }

  /** Publishes a liveness update we sign (its seq follows our records': one counter). */
  publishUpdate(update: MemberUpdate['update']): Promise<void> {
    return this.publish({ v: WIRE_VERSION, type: 'update', peerId: this.#o.self, seq: ++this.#seq, update });
  }

  /**
   * Publishes our record if anything but metrics changed since the last one: at once, or, when
   * only `term` changed and `now` is unset, after TERM_ONLY_DELAY_MS (with whatever changed by then).
   */
  refresh(now = false): void {
    const identity = this.#o.identity?.current;
    const base = { ...this.#o.record(), ...(identity ? { identity } : {}) };
    const fp = recordFingerprint(base as Omit<Heartbeat, 'seq'>);
    if (fp === this.#fingerprint) return;
    const termless = recordFingerprint({ ...base, term: 0 } as Omit<Heartbeat, 'seq'>);
    if (!now && termless === this.#termless) {
      if (this.#deferred === undefined) {
        const [lo, hi] = TERM_ONLY_DELAY_MS;
        this.#deferred = setTimeout(() => this.refresh(true), lo + Math.random() * (hi - lo));
      }
      return;
    }
    this.stop();
    this.#fingerprint = fp;
    this.#termless = termless;
    const record: Heartbeat = { ...base, seq: ++this.#seq, metrics: {} };
    this.#book.accept(record);
    void this.publish(record);
  }

  /** Drops a deferred publication (the agent stops). */
  stop(): void {
    clearTimeout(this.#deferred);
    this.#deferred = undefined;
  }

  /**
   * Sends our record as it stands (refreshed first) to each of `peers` now, at most one per
   * member we could hold (`maxMembers`); returns how many it went to. Best effort: a send that
   * fails leaves the record to gossip and anti-entropy, as before.
   */
  push(peers: Iterable<string>): number {
    this.refresh(true);
    const own = this.#book.get(this.#o.self);
    if (!own) return 0;
    const bytes = encode([TAG, own]);
    let sent = 0;
    for (const to of new Set(peers)) {
      if (to === this.#o.self) continue;
      if (sent >= this.#o.swim.maxMembers) break;
      sent++;
      this.#o.onBytes('out', bytes.byteLength);
      this.#probes.send(to, bytes).catch(() => undefined);
    }
    return sent;
  }
}

/** Takes a pushed record (true), or leaves the frame to the probe inbox (false). */
export function receivePushedRecord(inbox: InboxContext, from: string, bytes: Uint8Array): boolean {
  if (bytes[0] !== 0x82 || bytes[1] !== TAG) return false;
  inbox.onBytes('in', bytes.byteLength);
  const v = decodeCbor(bytes);
  const r = Array.isArray(v) ? checkRecord(v[1]) : undefined;
  if (!r) inbox.onReject('frame', `bad pushed record from ${from}`);
  else if (r.peerId !== from) inbox.onReject('spoofed', `record of ${r.peerId} pushed by ${from}`);
  else {
    const verdict = receiveRecord(inbox, r);
    if (verdict !== undefined && verdict !== 'ignore') inbox.onReject(verdict.reject, verdict.detail);
  }
  return true;
}
