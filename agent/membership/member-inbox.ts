import type { Heartbeat, MemberUpdate } from '../../shared/wire/heartbeat.ts';
import { decodeFrame, type ProbeFrame, speakerOf } from '../../shared/wire/probe.ts';
import type { MemberRecords } from './member-records.ts';
import type { CoreInput } from './swim/types.ts';

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
 * an accuser signs its own accusation, and a peer whose record the binding gate holds back
 * (member-records.ts) neither accuses, nor probes, nor reports load — a load report is also a
 * lease acknowledgement, so a key holder must not be able to lend a minority leader its quorum.
 */

/** A record with a refused binding, as opposed to a member we never heard of (a joiner's first message). */
function refused(ctx: InboxContext, id: string): boolean {
  return ctx.members.book.get(id) !== undefined && !ctx.members.takesPart(id);
}

/** A liveness update on the members topic. */
export function receiveUpdate(ctx: InboxContext, m: MemberUpdate): GossipVerdict {
  const u = m.update;
  if (speakerOf(u) !== m.peerId) return { reject: 'spoofed', detail: `${u.kind} about ${u.id} signed by ${m.peerId}` };
  if (refused(ctx, m.peerId)) return { reject: 'unbound', detail: `${u.kind} about ${u.id} from unbound ${m.peerId}` };
  if (u.kind === 'alive') ctx.members.heard.set(m.peerId, ctx.now());
  ctx.step({ type: 'update', update: u, now: ctx.now() });
  return undefined;
}

/**
 * A record on the members topic. One instance, one member, bound by the provider: a key holder
 * must not get a healthy instance terminated as its own, nor add members the provider never launched.
 */
export function receiveRecord(ctx: InboxContext, m: Heartbeat): GossipVerdict {
  const offer = ctx.members.offer(m);
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

/** Records pulled from a peer's table (sync). */
export function receiveTable(ctx: InboxContext, self: string, records: readonly Heartbeat[]): void {
  for (const r of records) {
    if (r.peerId === self) continue;
    const offer = ctx.members.offer(r);
    if (offer.ok && offer.changed) ctx.kept(r);
    else if (!offer.ok) ctx.onReject(offer.reason, `synced record: ${offer.detail}`);
  }
}

/** A frame on the probe protocol: probes, told updates, load reports. */
export function receiveFrame(ctx: InboxContext, from: string, bytes: Uint8Array): void {
  ctx.onBytes('in', bytes.byteLength);
  const f = decodeFrame(bytes);
  if (typeof f === 'string') {
    ctx.onReject('frame', `${f} from ${from}`);
    return;
  }
  if (refused(ctx, from)) {
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
