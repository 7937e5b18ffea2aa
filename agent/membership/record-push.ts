import { encode } from 'cborg';
import { checkRecord, decodeCbor } from '../../shared/wire/codec.ts';
import { type Heartbeat, type MemberUpdate, WIRE_VERSION } from '../../shared/wire/heartbeat.ts';
import type { GossipChannel } from '../gossip.ts';
import type { FramedChannel } from '../transport/channel.ts';
import { type InboxContext, receiveRecord } from './member-inbox.ts';
import type { MembershipOptions } from './membership-options.ts';
import { signedRecord } from './record-signatures.ts';
import { type RecordBook, recordFingerprint } from './records.ts';

/**
 * Our own record: published on the members topic when a field other than metrics and term changes
 * (with the seq our liveness updates share), and pushed point to point to given peers on demand. Gossip reaches a member once the mesh (or the
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
 * A change of `term` alone is kept in our book (a new seq) but not published: anti-entropy syncs
 * carry it (our table's hash changes), and so does our next publication of anything else (a claim,
 * a step-down, another field, a refutation's alive) and a push. At a failover every follower's
 * term changes in the same second: published at once, N records of N deliveries each (~2,400
 * signed messages at N=50) held a shared bench host's loop 1–3 s behind just while the new leader
 * waited for a majority's load reports; published 2–8 s later (7d54bf0) they landed in the next
 * failover instead (issue 13). Only the election reads a follower's term: the next claim's number
 * (a claimant's own record carries it in `leads`, pushed to the members next in line too: duty.ts
 * `tellSuccessors`) and the anchor of terms.ts (the lower median of the members' terms), which
 * lags only by the failovers of one anti-entropy spread (minutes) against a step of 16.
 */
export class OwnRecord {
  readonly #o: MembershipOptions;
  readonly #book: RecordBook;
  readonly #topic: GossipChannel;
  readonly #probes: FramedChannel;
  #seq: number;
  #fingerprint = '';
  /** The last published record's fingerprint with `term` left out: tells a change of term alone. */
  #termless = '';
  #publishedSeq: number | undefined;

  constructor(o: MembershipOptions, book: RecordBook, topic: GossipChannel, probes: FramedChannel) {
    this.#o = o;
    this.#book = book;
    this.#topic = topic;
    this.#probes = probes;
    this.#seq = o.now();
  }

  /** Publishes a message of ours on the members topic: a record as it was kept, or a liveness update. */
  async publish(msg: Heartbeat | MemberUpdate): Promise<void> {
    if (msg.type === 'heartbeat') this.#publishedSeq = Math.max(this.#publishedSeq ?? msg.seq, msg.seq);
    await this.#topic.publish(msg).catch((err: Error) => this.#o.log('members-publish-failed', { error: err.message }));
  }

  /** Publishes a liveness update we sign (its seq follows our records': one counter). */
  publishUpdate(update: MemberUpdate['update']): Promise<void> {
    return this.publish({ v: WIRE_VERSION, type: 'update', peerId: this.#o.self, seq: ++this.#seq, update });
  }

  /**
   * Keeps our record in the book if anything but metrics changed since the last one, and publishes
   * it unless only `term` changed since the last publication (see above: syncs carry that).
   */
  refresh(): void {
    const identity = this.#o.identity?.current;
    const base = { ...this.#o.record(), ...(identity ? { identity } : {}) };
    const fp = recordFingerprint(base as Omit<Heartbeat, 'seq'>);
    if (fp === this.#fingerprint) return;
    this.#fingerprint = fp;
    // Signed once per change, not per send: a synced table relays it as it is (record-signatures.ts).
    const record = signedRecord({ ...base, seq: ++this.#seq, metrics: {} }, this.#o.signRecord);
    this.#book.accept(record);
    const termless = recordFingerprint({ ...base, term: 0 } as Omit<Heartbeat, 'seq'>);
    if (termless === this.#termless) return;
    this.#termless = termless;
    void this.publish(record);
  }

  /**
   * The seq of the last record we published (undefined: none yet). A sync whose table holds an
   * older one of ours re-announces us (joining.ts `pulled`); one that holds only an older *term*
   * (our book's newer seq, not published) must not, or every sync after a failover re-floods our
   * record and alive (measured: first action 7-19 s at N=50).
   */
  get publishedSeq(): number | undefined {
    return this.#publishedSeq;
  }

  /**
   * Sends our record as it stands (refreshed first) to each of `peers` now, at most one per
   * member we could hold (`maxMembers`); returns how many it went to. Best effort: a send that
   * fails leaves the record to gossip and anti-entropy, as before.
   */
  push(peers: Iterable<string>): number {
    this.refresh();
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
    const verdict = receiveRecord(inbox, r, from);
    if (verdict !== undefined && verdict !== 'ignore') inbox.onReject(verdict.reject, verdict.detail);
  }
  return true;
}
