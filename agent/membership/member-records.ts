import type { Heartbeat } from '../../shared/wire/heartbeat.ts';
import { type Claim, mayChange } from './binding.ts';
import type { BindingCache } from './binding-cache.ts';
import { RecordSignatures } from './record-signatures.ts';
import { RecordBook } from './records.ts';
import type { MemberLiveness } from './swim/types.ts';

export interface MemberRecordsOptions {
  self: string;
  /** Our own instance id (we hold it whatever others claim). */
  selfInstance: () => string;
  maxMembers: number;
  /** Records of members the liveness table never had are kept this long after last heard (ms). */
  reapAfter: number;
  now: () => number;
  liveness: (id: string) => MemberLiveness | undefined;
  binding: BindingCache;
  /** Checks records against their member's signature (default: Ed25519 by peer id, remembered). */
  signatures?: RecordSignatures;
}

export type Offer = { ok: true; changed: boolean } | { ok: false; reason: string; detail: string };

/**
 * Members' records behind the binding gate: a record whose claim the provider refuses for good
 * (another peer's instance, a terminated one, a forged identity document) is dropped; one that
 * may still be bound (the launcher has not recorded it yet) is kept but takes no part until it
 * is. Only members that take part are `known` — so the election, the lease, the scaler, the
 * rollout and the cluster view never see a peer id the provider does not vouch for.
 */
export class MemberRecords {
  readonly book: RecordBook;
  readonly signatures: RecordSignatures;
  /** When each member was last heard from (its record, alive updates, frames). */
  readonly heard = new Map<string, number>();
  readonly #o: MemberRecordsOptions;
  /**
   * Peers refused for good, whose record (and verdict) was dropped: still refused, or a key holder
   * whose claim was refused could accuse and sync once its record is gone. Oldest first, at most
   * `maxMembers`; a record of the peer that binds later (new evidence) takes it off.
   */
  readonly #refusedForGood = new Set<string>();

  constructor(opts: MemberRecordsOptions) {
    this.#o = opts;
    this.book = new RecordBook(opts.maxMembers);
    this.signatures = opts.signatures ?? new RecordSignatures();
  }

  /**
   * Keeps `r` if it is newer, signed by its member (or sent by it: record-signatures.ts) and its
   * claim binds; what to tell the sender when refused. `from` is the authenticated sender (the
   * gossip publisher, the connection's peer). A record no newer than the one held changes nothing
   * and is not checked; the signature is checked before the binding gate, so a record its member
   * never signed cannot get that member refused either (a forged claim of a terminated instance).
   */
  offer(r: Heartbeat, from = r.peerId): Offer {
    if ((this.book.get(r.peerId)?.seq ?? -1) >= r.seq) return { ok: true, changed: false };
    const forged = this.signatures.check(r, from);
    if (forged) return { ok: false, ...forged };
    const v = this.#o.binding.check(claimOf(r), () => this.#holderOf(r.instanceId, r.peerId));
    if (v.kind === 'unbound' && v.reason === 'taken') return { ok: false, reason: 'instance-taken', detail: v.detail };
    if (v.kind === 'unbound' && !mayChange(v)) {
      this.#refuse(r.peerId);
      return { ok: false, reason: 'unbound', detail: v.detail };
    }
    if (v.kind !== 'unbound') this.#refusedForGood.delete(r.peerId);
    return { ok: true, changed: this.book.accept(r) };
  }

  takesPart(id: string): boolean {
    return id === this.#o.self || this.#o.binding.takesPart(id);
  }

  /**
   * Whether the binding gate refuses `id`: its claim is held back (no launch record yet, instance
   * taken, being judged) or was refused for good. A peer we hold no claim of is not refused (a
   * joiner whose record has not arrived yet); it does not take part either.
   */
  refused(id: string): boolean {
    if (id === this.#o.self) return false;
    return this.#o.binding.verdict(id)?.kind === 'unbound' || this.#refusedForGood.has(id);
  }

  /** Members (not us) with a record that take part, with their liveness. */
  *known(
    members: Iterable<MemberLiveness>,
  ): Generator<{ record: Heartbeat; liveness: MemberLiveness; lastHeard: number }> {
    for (const m of members) {
      if (m.id === this.#o.self || !this.#o.binding.takesPart(m.id)) continue;
      const record = this.book.get(m.id);
      if (record) yield { record, liveness: m, lastHeard: this.heard.get(m.id) ?? m.since };
    }
  }

  /**
   * Checks again the verdicts that may change (a launch recorded meanwhile, a holder gone); drops
   * records refused for good. Returns the members that take part now and did not before, and the
   * records dropped.
   */
  recheck(): { joined: string[]; dropped: Heartbeat[] } {
    const now: string[] = [];
    const dropped: Heartbeat[] = [];
    for (const id of [...this.#o.binding.due()]) {
      const r = this.book.get(id);
      if (!r) {
        this.#o.binding.forget(id);
        continue;
      }
      const before = this.#o.binding.takesPart(id);
      const v = this.#o.binding.check(claimOf(r), () => this.#holderOf(r.instanceId, id));
      if (v.kind === 'unbound' && !mayChange(v)) {
        this.#refuse(id);
        dropped.push(r);
      } else if (!before && this.#o.binding.takesPart(id)) now.push(id);
    }
    return { joined: now, dropped };
  }

  /** Forgets records of members the liveness table no longer has; returns the forgotten records. */
  reap(): Heartbeat[] {
    const o = this.#o;
    const gone: Heartbeat[] = [];
    for (const id of [...this.book.ids()]) {
      if (id === o.self || o.liveness(id)) continue;
      const r = this.book.get(id);
      // Records of members the core never heard of (yet) are kept until they are stale.
      if (r && this.heard.has(id) && o.now() - (this.heard.get(id) ?? 0) < o.reapAfter) continue;
      this.#drop(id);
      if (r) gone.push(r);
    }
    return gone;
  }

  #refuse(id: string): void {
    this.#drop(id);
    this.#refusedForGood.delete(id); // re-inserted last: the oldest goes first
    this.#refusedForGood.add(id);
    for (const old of this.#refusedForGood) {
      if (this.#refusedForGood.size <= this.#o.maxMembers) break;
      this.#refusedForGood.delete(old);
    }
  }

  #drop(id: string): void {
    this.book.forget(id);
    this.heard.delete(id);
    this.#o.binding.forget(id);
  }

  /** The member (not dead, not left, taking part) whose record names `instanceId`, other than `claimant`. */
  #holderOf(instanceId: string, claimant: string): string | undefined {
    if (instanceId === this.#o.selfInstance()) return this.#o.self;
    for (const r of this.book.all()) {
      if (r.instanceId !== instanceId || r.peerId === claimant || r.peerId === this.#o.self) continue;
      if (!this.#o.binding.takesPart(r.peerId)) continue;
      const state = this.#o.liveness(r.peerId)?.state;
      if (state === 'alive' || state === 'suspect') return r.peerId;
    }
    return undefined;
  }
}

function claimOf(r: Heartbeat): Claim {
  return {
    peerId: r.peerId,
    instanceId: r.instanceId,
    cloud: r.cloud,
    ...(r.identity ? { identity: r.identity } : {}),
  };
}
