import type { Heartbeat, MemberUpdate } from '../../shared/wire/heartbeat.ts';
import { decodeFrame, type ProbeFrame, speakerOf } from '../../shared/wire/probe.ts';
import type { MemberRecords } from './member-records.ts';
import type { CoreInput, DigestEntry } from './swim/types.ts';
import type { Table } from './sync.ts';

/** What the membership shell lends the inbound checks. */
export interface InboxContext {
  now: () => number;
  members: MemberRecords;
  step: (input: CoreInput) => void;
  /** Load reports from members that take part. */
  onLoad: (from: string, frame: ProbeFrame) => void;
  onReject: (reason: string, detail: string) => void;
  onBytes: (direction: 'in' | 'out', bytes: number) => void;
  /** A record was kept: learn its addresses, announce a join that waited for it. */
  kept: (r: Heartbeat) => void;
  /** A member we hold no record of spoke to us (a joiner whose announcements we missed). */
  unknown?: (id: string) => void;
}

export type GossipVerdict = undefined | 'ignore' | { reject: string; detail: string };

/**
 * Inbound membership traffic, checked before the core sees it: a member speaks only for itself,
 * an accuser signs its own accusation, and a peer whose claim the binding gate holds back or
 * refused (member-records.ts) neither accuses, nor probes, nor syncs, nor reports load — a load
 * report is also a lease acknowledgement, so a key holder must not be able to lend a minority
 * leader its quorum. A peer the binding gate refuses (`members.refused`) differs from a member we
 * never heard of (a joiner's first message).
 */

/** A liveness update on the members topic. */
export function receiveUpdate(ctx: InboxContext, m: MemberUpdate): GossipVerdict {
  const u = m.update;
  if (speakerOf(u) !== m.peerId) return { reject: 'spoofed', detail: `${u.kind} about ${u.id} signed by ${m.peerId}` };
  if (ctx.members.refused(m.peerId))
    return { reject: 'unbound', detail: `${u.kind} about ${u.id} from unbound ${m.peerId}` };
  if (u.kind === 'alive') ctx.members.heard.set(m.peerId, ctx.now());
  ctx.step({ type: 'update', update: u, now: ctx.now() });
  return undefined;
}

/**
 * A record on the members topic. One instance, one member, bound by the provider: a key holder
 * must not get a healthy instance terminated as its own, nor add members the provider never launched.
 */
export function receiveRecord(ctx: InboxContext, m: Heartbeat, from = m.peerId): GossipVerdict {
  const offer = ctx.members.offer(m, from);
  if (!offer.ok) return { reject: offer.reason, detail: offer.detail };
  if (!offer.changed) {
    if ((ctx.members.book.get(m.peerId)?.seq ?? 0) > m.seq)
      ctx.onReject('stale', `record seq ${m.seq} from ${m.peerId} is older`);
    return 'ignore';
  }
  ctx.members.heard.set(m.peerId, ctx.now());
  ctx.kept(m);
  return undefined;
}

/**
 * Records of a table synced from `from`: each is checked against its member's signature, as on
 * every path. An unsigned one (an older agent's) is kept only as `from`'s own: one relayed for a
 * third member is refused and counted (member-records.ts, record-signatures.ts).
 */
export function receiveTable(ctx: InboxContext, self: string, records: readonly Heartbeat[], from: string): void {
  for (const r of records) {
    if (r.peerId === self) continue;
    const offer = ctx.members.offer(r, from);
    if (offer.ok && offer.changed) ctx.kept(r);
    else if (!offer.ok) ctx.onReject(offer.reason, `synced record: ${offer.detail}`);
  }
}

/**
 * A table synced from `from` (pulled from it, or pushed back after our answer; the connection
 * authenticated it). The sender's own record is offered first (a member we had no record of binds
 * by its table); the rest counts only if the sender then takes part. A peer the binding gate
 * holds back or refused, or one whose claim we never saw, changes nothing in our view — no
 * liveness, not even its own (that enters once it is bound: its gossip, its next table, as its
 * probes and accusations do), and no one else's record.
 */
export function receiveSynced(ctx: InboxContext, self: string, table: Table, from: string): void {
  const own = table.records.filter((r) => r.peerId === from);
  const others = table.records.filter((r) => r.peerId !== from);
  receiveTable(ctx, self, own, from);
  // Heard from (the connection authenticated it): a held-back record is kept reapAfter, as a gossiped
  // one, so the re-check that binds it (its launch recorded later) still finds it.
  if (ctx.members.book.get(from)) ctx.members.heard.set(from, ctx.now());
  if (!ctx.members.takesPart(from)) {
    const ignored = `${table.entries.length} entries, ${others.length} records`;
    if (table.entries.length > 0 || others.length > 0)
      ctx.onReject('unbound', `synced table from ${from}, which takes no part: ${ignored} ignored`);
    return;
  }
  receiveTable(ctx, self, others, from);
  ctx.step({ type: 'sync', entries: table.entries, now: ctx.now(), from });
}

/**
 * What a sync's requester holds about us (we refute a death). Refused only from a peer the binding
 * gate refuses: a requester we hold no record of may be the other side of a long partition, whose
 * record we reaped, telling us it holds us dead — our refutation is how its view heals.
 */
export function receiveAboutUs(ctx: InboxContext, entries: DigestEntry[], from: string): void {
  if (ctx.members.refused(from)) ctx.onReject('unbound', `sync request from unbound ${from}`);
  else ctx.step({ type: 'sync', entries, now: ctx.now(), from });
}

/** A frame on the probe protocol: probes, told updates, load reports. */
export function receiveFrame(ctx: InboxContext, from: string, bytes: Uint8Array): void {
  ctx.onBytes('in', bytes.byteLength);
  const f = decodeFrame(bytes);
  if (typeof f === 'string') {
    ctx.onReject('frame', `${f} from ${from}`);
    return;
  }
  if (ctx.members.refused(from)) {
    ctx.onReject('unbound', `${f.t} frame from unbound ${from}`);
    return;
  }
  ctx.members.heard.set(from, ctx.now());
  if (ctx.members.book.get(from) === undefined) ctx.unknown?.(from);
  if (f.t === 'load' || f.t === 'summary') {
    if (ctx.members.takesPart(from)) ctx.onLoad(from, f);
  } else if (f.t !== 'update') ctx.step({ type: 'probe', from, msg: f, now: ctx.now() });
  // A told suspicion or refutation counts only from its accuser, or from the member itself.
  else if (speakerOf(f.update) === from) ctx.step({ type: 'update', update: f.update, now: ctx.now() });
  else ctx.onReject('frame', `${f.update.kind} about ${f.update.id} told by ${from}`);
}
