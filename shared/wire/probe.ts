import { checkMetrics, decodeCbor } from './codec.ts';
import type { MetricMap } from './metrics.ts';
import { decodeRelayed, openSeal, relayedToWire, type SignedReport, type SummarySeal } from './relay-report.ts';
import { decodeSummary, SUMMARY_TAG, type SummaryFrame, summaryToWire } from './summary-frame.ts';
import type { Evidence, Update } from './swim.ts';

export type { SummaryFrame, SummaryRow } from './summary-frame.ts';

/**
 * Point-to-point frames between neighbours (and between a leader and its followers) on `/poolparty/<pool>/probe/2`: SWIM probes, load
 * reports, and the liveness updates told to a few members only (a suspicion to the suspect and its
 * observers, a refutation back). They are the only periodic traffic of an idle agent, so each is
 * a small CBOR array (a tag, then positional fields) rather than a keyed map.
 */
export type ProbeFrame =
  | { t: 'ping'; seq: number }
  | { t: 'ack'; seq: number }
  | { t: 'ping-req'; seq: number; target: string }
  | { t: 'nack'; seq: number }
  /**
   * A member's metrics for the leader; `term` is the leader term it follows (its lease ack). Sent
   * up the relay tree (agent/load/relay-tree.ts), it also carries signed reports of members below
   * it (`relayed`, the sender's own among them) and the relays they passed (`hop`); an agent of
   * the previous release reads only the first three fields, so it counts the sender's report.
   * `at`: when the sender sampled the frame's direct part (its wall clock, ms); the leader stamps
   * that acknowledgement at min(arrival, at), so a frame held back in transit stretches no lease
   * past its sample time (agent/leadership/wait-out.ts). Absent (previous releases): at arrival.
   * `leader` (issue 15): the peer id of the leader whose term the direct part names (the frame goes
   * to a tree parent that may not be that leader); a leader books a direct part naming another
   * leader as no acknowledgement (term 0). Absent (previous releases): the term alone counts.
   */
  | {
      t: 'load';
      term: number;
      metrics: MetricMap;
      hop?: number;
      relayed?: SignedReport[];
      at?: number;
      leader?: string;
    }
  /**
   * A suspicion or a refutation told point to point. Only these two kinds travel here (dead, left
   * and joins go on the members topic, signed), and the receiver accepts one only from the member
   * that speaks for it (`speakerOf`): the accuser of a suspicion, the member itself for its life.
   */
  | { t: 'update'; update: ToldUpdate }
  /**
   * The leader's summary of every member's metrics, for a member that follows it (summary-frame.ts);
   * with `seal`, signed by the leader and relayed down the tree (tag 7, relay-report.ts).
   */
  | SealedSummary;

export type SealedSummary = SummaryFrame & { seal?: SummarySeal };

export type ToldUpdate = Extract<Update, { kind: 'alive' | 'suspect' }>;

const TAGS = ['ping', 'ack', 'ping-req', 'nack', 'load', 'update', 'summary', 'sealed'] as const;
const SEALED_TAG = 7;
const MAX_ID = 128;
const EVIDENCE: readonly Evidence[] = ['timeout', 'refused'];

/** The member that must have sent an update for it to be believed: its accuser, or the member itself. */
export function speakerOf(u: Update): string {
  return u.kind === 'alive' || u.kind === 'left' ? u.id : u.from;
}

export function probeProtocol(pool: string): string {
  return `/poolparty/${pool}/probe/2`;
}

export function syncProtocol(pool: string): string {
  return `/poolparty/${pool}/sync/2`;
}

export function frameToWire(f: ProbeFrame): unknown[] {
  switch (f.t) {
    case 'ping':
    case 'ack':
    case 'nack':
      return [TAGS.indexOf(f.t), f.seq];
    case 'ping-req':
      return [2, f.seq, f.target];
    case 'load': {
      // [4, term, metrics, hop, relayed, at, leader]: previous releases read the first three, five
      // or six. This release always sends `at` with `leader`; were it missing, 0 stands in for it:
      // a sample time past every lease, so the frame's direct part acknowledges nothing.
      const tail = f.leader !== undefined ? [f.at ?? 0, f.leader] : f.at !== undefined ? [f.at] : [];
      if (!f.relayed && tail.length === 0) return [4, f.term, f.metrics];
      return [4, f.term, f.metrics, f.hop ?? 0, relayedToWire(f.relayed ?? []), ...tail];
    }
    case 'summary': {
      const s = f.seal;
      if (!s) return summaryToWire(f);
      // [7, term, inner, sig, hop, 1]: a previous release reads the first five.
      return [SEALED_TAG, f.term, s.inner, s.sig, s.hop, ...(s.binds ? [1] : [])];
    }
    case 'update': {
      const u = f.update;
      return u.kind === 'alive'
        ? [5, u.incarnation, u.id]
        : [5, u.incarnation, u.id, u.from, EVIDENCE.indexOf(u.evidence)];
    }
  }
}

/** [5, incarnation, id] is alive; [5, incarnation, id, from, evidence] a suspicion. */
function decodeUpdate(incarnation: number, v: unknown[]): ProbeFrame | string {
  const [, , id, from, evidence] = v;
  const validId = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= MAX_ID;
  if (!validId(id)) return 'bad update id';
  if (v.length === 3) return { t: 'update', update: { kind: 'alive', id, incarnation } };
  const ev = typeof evidence === 'number' ? EVIDENCE[evidence] : undefined;
  if (v.length !== 5 || !validId(from) || ev === undefined) return 'bad update';
  return { t: 'update', update: { kind: 'suspect', id, incarnation, from, evidence: ev } };
}

/** [7, term, inner, sig, hop, flags?]: a summary the leader sealed (its signature is checked by the receiver). */
function decodeSealed(term: number, v: unknown[]): ProbeFrame | string {
  const opened = openSeal(term, v);
  if (typeof opened === 'string') return opened;
  if (opened.wire[0] !== SUMMARY_TAG) return 'sealed summary body is not a summary';
  const summary = decodeSummary(term, opened.wire);
  return typeof summary === 'string' ? `sealed ${summary}` : { ...summary, seal: opened.seal };
}

/** Decodes one frame; a string says what was wrong (the frame is dropped, the peer counted). */
export function decodeFrame(bytes: Uint8Array): ProbeFrame | string {
  const v = decodeCbor(bytes);
  if (!Array.isArray(v)) return 'not a CBOR array';
  const [tag, a, b] = v as [unknown, unknown, unknown];
  if (typeof tag !== 'number' || !Number.isInteger(tag) || tag < 0 || tag >= TAGS.length) return 'unknown frame tag';
  if (!Number.isSafeInteger(a) || (a as number) < 0) return 'bad sequence or term';
  const n = a as number;
  switch (TAGS[tag]) {
    case 'update':
      return decodeUpdate(n, v);
    case 'summary':
      return decodeSummary(n, v);
    case 'sealed':
      return decodeSealed(n, v);
    case 'ping':
      return { t: 'ping', seq: n };
    case 'ack':
      return { t: 'ack', seq: n };
    case 'nack':
      return { t: 'nack', seq: n };
    case 'ping-req':
      if (typeof b !== 'string' || b.length === 0 || b.length > MAX_ID) return 'bad ping-req target';
      return { t: 'ping-req', seq: n, target: b };
    default: {
      const bad = checkMetrics(b);
      if (bad) return `load ${bad}`;
      if (v.length <= 3) return { t: 'load', term: n, metrics: b as MetricMap };
      const r = decodeRelayed(v[3], v[4]);
      if (typeof r === 'string') return r;
      const [at, leader] = [v[5], v[6]];
      if (at !== undefined && (!Number.isSafeInteger(at) || (at as number) < 0)) return 'bad load sample time';
      if (leader !== undefined && (typeof leader !== 'string' || leader.length === 0 || leader.length > MAX_ID))
        return 'bad load leader';
      const relayed = r.relayed.length > 0 ? r : {};
      return {
        t: 'load',
        term: n,
        metrics: b as MetricMap,
        ...relayed,
        ...(at !== undefined ? { at: at as number } : {}),
        ...(leader !== undefined ? { leader } : {}),
      };
    }
  }
}
