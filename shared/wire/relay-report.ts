import { encode } from 'cborg';
import { checkMetrics, decodeCbor } from './codec.ts';
import type { MetricMap } from './metrics.ts';

/**
 * Load reports relayed up the tree to the leader, and the leader's summary relayed down it
 * (issue 13, agent/load/relay-tree.ts). Each report is signed by the member it speaks for and each
 * summary by the leader, over bytes that travel verbatim: a relay can drop them but not forge,
 * alter or lend them. The signature is checked by whoever counts it (agent/load/relay-sign.ts);
 * this module only shapes and bounds the bytes, and never throws on what a peer sent.
 */
export interface SignedReport {
  /** The member the report speaks for; its peer id carries the ed25519 key that signed `body`. */
  origin: string;
  /** The leader term the origin follows (its lease acknowledgement). */
  term: number;
  /** Increasing per origin (seeded from its wall clock at start): the leader ignores replays. */
  seq: number;
  /** When the origin sampled the metrics, on its wall clock (epoch ms). */
  at: number;
  metrics: MetricMap;
  /**
   * cbor([origin, term, seq, at, metrics]), forwarded verbatim. `sig` signs it plain (a previous
   * release, or before the origin saw that leaders read bound reports) or bound to the leader it
   * follows: boundBytes(body, leader). Which, the body does not say: only that leader's check tells.
   */
  body: Uint8Array;
  sig: Uint8Array;
}

/** Bounds of what a relay frame may carry (the codec refuses a frame beyond them). */
export const RELAY_LIMITS = {
  /** Reports in one frame (a 16 kB frame holds ~70 real ones). */
  reports: 256,
  /** Relays a frame may have passed through; more is a loop or a hostile peer. */
  hops: 16,
  /** Largest signed report body (a real one is ~100-300 B). */
  body: 2048,
  /** An ed25519 signature. */
  sig: 64,
  id: 128,
} as const;

/** The bytes a member signs for its report. */
export function reportBody(r: Pick<SignedReport, 'origin' | 'term' | 'seq' | 'at' | 'metrics'>): Uint8Array {
  return encode([r.origin, r.term, r.seq, r.at, r.metrics]);
}

/**
 * Opens what a bound report's signature covers: never a plain body's first byte (a CBOR array of
 * five, 0x85), nor what this key signs elsewhere (member records and seals are CBOR arrays too,
 * libp2p's own signatures start with their own text), so no signature can pass in the other role.
 */
const utf8 = new TextEncoder();
const BOUND_TAG = utf8.encode('poolparty/report-for-leader/1');

/**
 * The bytes a report bound to `leader` is signed over (issue 15): the tag, the body, a NUL (never
 * in a peer id) and the leader's peer id. The body stays the previous release's five fields (its
 * decoder drops a frame whose body has any other shape); the leader is in the signature's domain,
 * so a report bound to one leader verifies at no other, in any term.
 */
export function boundBytes(body: Uint8Array, leader: string): Uint8Array {
  const id = utf8.encode(leader);
  const out = new Uint8Array(BOUND_TAG.byteLength + body.byteLength + 1 + id.byteLength);
  out.set(BOUND_TAG, 0);
  out.set(body, BOUND_TAG.byteLength);
  out.set(id, BOUND_TAG.byteLength + body.byteLength + 1);
  return out;
}

const isBytes = (x: unknown): x is Uint8Array => x instanceof Uint8Array;
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** One [body, sig] pair; a string says what was wrong. The signature is not checked here. */
export function decodeSignedReport(pair: unknown): SignedReport | string {
  if (!Array.isArray(pair) || pair.length !== 2) return 'relayed report is not [body, sig]';
  const [body, sig] = pair as [unknown, unknown];
  if (!isBytes(body) || body.byteLength > RELAY_LIMITS.body) return 'bad relayed report body';
  if (!isBytes(sig) || sig.byteLength !== RELAY_LIMITS.sig) return 'bad relayed report signature';
  const v = decodeCbor(body);
  if (!Array.isArray(v) || v.length !== 5) return 'relayed report body is not a report';
  const [origin, term, seq, at, metrics] = v as [unknown, unknown, unknown, unknown, unknown];
  if (typeof origin !== 'string' || origin.length === 0 || origin.length > RELAY_LIMITS.id)
    return 'bad relayed report origin';
  if (!isCount(term) || !isCount(seq) || !isCount(at)) return 'bad relayed report term, seq or time';
  const bad = checkMetrics(metrics);
  if (bad) return `relayed report ${bad}`;
  return { origin, term, seq, at, metrics: metrics as MetricMap, body, sig };
}

/** The relay part of a load frame, [hop, [[body, sig], ...]]; a string says what was wrong. */
export function decodeRelayed(hop: unknown, list: unknown): { hop: number; relayed: SignedReport[] } | string {
  if (!isCount(hop)) return 'bad relay hop count';
  if (hop > RELAY_LIMITS.hops) return `relayed through more than ${RELAY_LIMITS.hops} hops`;
  if (!Array.isArray(list)) return 'relayed reports are not a list';
  if (list.length > RELAY_LIMITS.reports) return `more than ${RELAY_LIMITS.reports} relayed reports in a frame`;
  const relayed: SignedReport[] = [];
  for (const pair of list) {
    const r = decodeSignedReport(pair);
    if (typeof r === 'string') return r;
    relayed.push(r);
  }
  return { hop, relayed };
}

export function relayedToWire(relayed: readonly SignedReport[]): unknown[] {
  return relayed.map((r) => [r.body, r.sig]);
}

/** Encoded bytes a report adds to a frame (body, signature and their headers). */
export function relayedBytes(r: SignedReport): number {
  return r.body.byteLength + r.sig.byteLength + 8;
}

/**
 * The leader's signature on a summary frame, relayed down the tree: `inner` is
 * cbor([term, at, summaryWire]) (probe.ts's summary encoding), `sig` the leader's over it, `hop`
 * the relays it passed. `at` is the leader's clock at signing: a member keeps only newer ones.
 */
export interface SummarySeal {
  inner: Uint8Array;
  sig: Uint8Array;
  at: number;
  hop: number;
  /**
   * The sealing leader counts reports bound to it (boundBytes; every leader of this release says
   * so): a member that takes such a seal binds its reports from then on. Outside the signature
   * (`inner` keeps the previous release's three fields), so a relay can strip it (its subtree
   * signs plain, as before) or add it (its subtree binds early: a leader of the previous release
   * then counts none of their relayed reports, the harm of a relay that drops them, which a relay
   * can do anyway, until an unflagged seal of that leader reaches them: RelayUp.sealFrom).
   */
  binds?: boolean;
}

/** Largest sealed summary (the summary frames are cut to fit the probe channel's 16 kB). */
const MAX_INNER = 16 * 1024;

export function sealInner(term: number, at: number, summaryWire: unknown[]): Uint8Array {
  return encode([term, at, summaryWire]);
}

/**
 * [7, term, inner, sig, hop, flags] → the seal and the summary's wire array; a string says what was
 * wrong. `flags` (absent before issue 15, which a previous release never reads): bit 0 is `binds`;
 * other bits are left to later releases and ignored.
 */
export function openSeal(term: number, v: unknown[]): { seal: SummarySeal; wire: unknown[] } | string {
  const [, , inner, sig, hop, flags] = v;
  if (!isBytes(inner) || inner.byteLength > MAX_INNER) return 'bad sealed summary';
  if (!isBytes(sig) || sig.byteLength !== RELAY_LIMITS.sig) return 'bad sealed summary signature';
  if (!isCount(hop) || hop > RELAY_LIMITS.hops) return 'bad sealed summary hop count';
  if (flags !== undefined && !isCount(flags)) return 'bad sealed summary flags';
  const d = decodeCbor(inner);
  if (!Array.isArray(d) || d.length !== 3) return 'sealed summary is not [term, at, summary]';
  const [t, at, wire] = d as [unknown, unknown, unknown];
  if (t !== term || !isCount(at)) return 'sealed summary term or time does not match';
  if (!Array.isArray(wire) || wire[1] !== term) return 'sealed summary body is not a summary of its term';
  const binds = flags !== undefined && flags % 2 === 1;
  return { seal: { inner, sig, at, hop, ...(binds ? { binds } : {}) }, wire };
}
