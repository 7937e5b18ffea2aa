import { decode as cborDecode, encode as cborEncode } from 'cborg';
import {
  type BundleReport,
  type BundleState,
  type Heartbeat,
  type Intent,
  type LoadSummary,
  type MemberUpdate,
  type Outcome,
  type PoolStopping,
  type Retire,
  type RolloutAnnouncement,
  WIRE_VERSION,
  type WireMessage,
} from './heartbeat.ts';
import type { MetricMap } from './metrics.ts';

/**
 * Encoding and validation of gossip messages (wire v2: CBOR). Runs for every inbound message on
 * every node, so the checks are hand-written (no schema library), allocation-light, and never
 * throw: anything a peer sends is either a valid message or a reason to reject it.
 */

export type RejectReason = 'too-large' | 'not-cbor' | 'version' | 'schema';

export type DecodeResult = { ok: true; msg: WireMessage } | { ok: false; reason: RejectReason; detail: string };

/** Bounds that keep one member's heartbeat from bloating every other member's view. */
export const WIRE_LIMITS = {
  maxAddrs: 16,
  maxStringLength: 256,
  maxMetrics: 64,
  maxTargets: 256,
  maxSummaryMembers: 10_000,
  /** No metric a rule could sensibly use is larger; 1e308 from a hostile peer must not steer the leader. */
  maxMetricValue: 1e12,
  metricName: /^[A-Za-z_][A-Za-z0-9_]{0,63}$/,
} as const;

/** CBOR options that refuse what JSON could not carry either (and big integers, which no field uses). */
const DECODE_OPTIONS = {
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  strict: true,
} as const;

export function encodeMessage(msg: WireMessage): Uint8Array {
  return cborEncode(msg);
}

/** Decodes CBOR bytes from a peer; undefined when they are not well-formed CBOR. */
export function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return cborDecode(bytes, DECODE_OPTIONS);
  } catch {
    return undefined;
  }
}

export function decodeMessage(bytes: Uint8Array, maxBytes: number): DecodeResult {
  if (bytes.byteLength > maxBytes) {
    return { ok: false, reason: 'too-large', detail: `message of ${bytes.byteLength} bytes exceeds ${maxBytes}` };
  }
  const value = decodeCbor(bytes);
  if (value === undefined) return { ok: false, reason: 'not-cbor', detail: 'message is not well-formed CBOR' };
  if (!isObject(value)) return schema('message is not an object');
  if (value.v !== WIRE_VERSION)
    return { ok: false, reason: 'version', detail: `unsupported version ${String(value.v)}` };
  if (value.type === 'heartbeat') return checkHeartbeat(value);
  if (value.type === 'intent') return checkIntent(value);
  if (value.type === 'outcome') return checkOutcome(value);
  if (value.type === 'retire') return checkRetire(value);
  if (value.type === 'update') return checkUpdate(value);
  if (value.type === 'summary') return checkSummary(value);
  if (value.type === 'stopping') return checkStopping(value);
  return schema(`unknown type ${JSON.stringify(value.type)?.slice(0, 40)}`);
}

function checkHeartbeat(v: Record<string, unknown>): DecodeResult {
  const bad =
    str(v, 'peerId') ??
    str(v, 'instanceId') ??
    str(v, 'cloud') ??
    str(v, 'monitor', true) ??
    str(v, 'version') ??
    seq(v) ??
    count(v, 'startedAt') ??
    addrs(v.addrs) ??
    metrics(v.metrics) ??
    optional(v, 'term', count) ??
    optional(v, 'leads', count) ??
    optional(v, 'retiring', bool) ??
    optional(v, 'bundle', sha) ??
    optional(v, 'bundleTarget', sha) ??
    optional(v, 'bundleState', (o, k) => (BUNDLE_STATES.has(o[k] as string) ? undefined : `${k}: unknown state`)) ??
    optional(v, 'bundleReport', bundleReport) ??
    optional(v, 'rollout', rollout);
  if (bad) return schema(bad);
  const hb: Heartbeat = {
    v: WIRE_VERSION,
    type: 'heartbeat',
    peerId: v.peerId as string,
    instanceId: v.instanceId as string,
    cloud: v.cloud as string,
    addrs: v.addrs as string[],
    monitor: v.monitor as string,
    startedAt: v.startedAt as number,
    seq: v.seq as number,
    version: v.version as string,
    metrics: v.metrics as MetricMap,
  };
  if (v.term !== undefined) hb.term = v.term as number;
  if (v.leads !== undefined) hb.leads = v.leads as number;
  if (v.retiring === true) hb.retiring = true;
  if (v.bundle !== undefined) hb.bundle = v.bundle as string;
  if (v.bundleTarget !== undefined) hb.bundleTarget = v.bundleTarget as string;
  if (v.bundleState !== undefined) hb.bundleState = v.bundleState as BundleState;
  if (v.bundleReport !== undefined) hb.bundleReport = v.bundleReport as BundleReport;
  if (v.rollout !== undefined) hb.rollout = v.rollout as RolloutAnnouncement;
  return { ok: true, msg: hb };
}

/** Checks a record (a heartbeat-shaped object) that arrived inside another message (sync). */
export function checkRecord(value: unknown): Heartbeat | undefined {
  if (!isObject(value) || value.v !== WIRE_VERSION || value.type !== 'heartbeat') return undefined;
  const r = checkHeartbeat(value);
  return r.ok ? (r.msg as Heartbeat) : undefined;
}

/** Checks a metric map from a peer (load reports); the reason when it is not one. */
export function checkMetrics(value: unknown): string | undefined {
  return metrics(value);
}

const KINDS = new Set(['expand', 'contract', 'replace']);
const BUNDLE_STATES = new Set(['fetching', 'applying', 'ok', 'failed']);
const SHA256 = /^[0-9a-f]{64}$/;

function sha(v: Record<string, unknown>, key: string): string | undefined {
  return typeof v[key] === 'string' && SHA256.test(v[key] as string)
    ? undefined
    : `${key}: expected a sha256 hex digest`;
}

function bundleReport(v: Record<string, unknown>, key: string): string | undefined {
  const r = v[key];
  if (!isObject(r)) return `${key}: expected an object`;
  const verifiers = r.verifiers;
  const bad =
    bool(r, 'ok') ??
    (r.resolver === null ? undefined : str(r, 'resolver')) ??
    count(r, 'durationMs') ??
    (isObject(verifiers) ? (count(verifiers, 'passed') ?? ids(verifiers, 'failed')) : 'verifiers: expected an object');
  if (bad) return `${key}.${bad}`;
  const vs = verifiers as Record<string, unknown>;
  const clean: BundleReport = {
    ok: r.ok as boolean,
    resolver: r.resolver as string | null,
    durationMs: r.durationMs as number,
    verifiers: { passed: vs.passed as number, failed: vs.failed as string[] },
  };
  v[key] = clean;
  return undefined;
}

function rollout(v: Record<string, unknown>, key: string): string | undefined {
  const r = v[key];
  if (!isObject(r)) return `${key}: expected an object`;
  const bad =
    sha(r, 'sha') ??
    ids(r, 'allowed') ??
    count(r, 'maxUnavailable') ??
    count(r, 'startedAt') ??
    optional(r, 'halted', (o, k) => str(o, k)) ??
    optional(r, 'cloud', (o, k) => str(o, k));
  if (bad) return `${key}.${bad}`;
  // Rebuilt field by field so nothing unknown rides along.
  const clean: RolloutAnnouncement = {
    sha: r.sha as string,
    allowed: r.allowed as string[],
    maxUnavailable: r.maxUnavailable as number,
    startedAt: r.startedAt as number,
  };
  if (typeof r.halted === 'string') clean.halted = r.halted;
  if (typeof r.cloud === 'string') clean.cloud = r.cloud;
  v[key] = clean;
  return undefined;
}

function actionFields(v: Record<string, unknown>): string | undefined {
  return (
    str(v, 'peerId') ??
    seq(v) ??
    count(v, 'term') ??
    str(v, 'cloud') ??
    count(v, 'action') ??
    (KINDS.has(v.kind as string) ? undefined : 'kind: expected expand, contract or replace') ??
    str(v, 'token') ??
    count(v, 'at')
  );
}

/** The fields actionFields checked, copied out (unknown keys never ride along). */
function actionOf(v: Record<string, unknown>): Omit<Intent, 'type' | 'count' | 'targets' | 'reason'> {
  return {
    v: WIRE_VERSION,
    peerId: v.peerId as string,
    seq: v.seq as number,
    term: v.term as number,
    cloud: v.cloud as string,
    action: v.action as number,
    kind: v.kind as Intent['kind'],
    token: v.token as string,
    at: v.at as number,
  };
}

function checkIntent(v: Record<string, unknown>): DecodeResult {
  const bad = actionFields(v) ?? count(v, 'count') ?? ids(v, 'targets') ?? str(v, 'reason', true);
  if (bad) return schema(bad);
  const intent: Intent = {
    ...actionOf(v),
    type: 'intent',
    count: v.count as number,
    targets: v.targets as string[],
    reason: v.reason as string,
  };
  return { ok: true, msg: intent };
}

function checkOutcome(v: Record<string, unknown>): DecodeResult {
  const bad = actionFields(v) ?? optional(v, 'ok', bool, true) ?? ids(v, 'instanceIds') ?? optional(v, 'error', str);
  if (bad) return schema(bad);
  const outcome: Outcome = {
    ...actionOf(v),
    type: 'outcome',
    ok: v.ok as boolean,
    instanceIds: v.instanceIds as string[],
  };
  if (typeof v.error === 'string') outcome.error = v.error;
  return { ok: true, msg: outcome };
}

function checkRetire(v: Record<string, unknown>): DecodeResult {
  const bad = str(v, 'peerId') ?? seq(v) ?? count(v, 'term') ?? str(v, 'target') ?? str(v, 'token') ?? count(v, 'at');
  if (bad) return schema(bad);
  const retire: Retire = {
    v: WIRE_VERSION,
    type: 'retire',
    peerId: v.peerId as string,
    seq: v.seq as number,
    term: v.term as number,
    target: v.target as string,
    token: v.token as string,
    at: v.at as number,
  };
  return { ok: true, msg: retire };
}

const UPDATE_KINDS = new Set(['alive', 'suspect', 'dead', 'left']);
const EVIDENCE = new Set(['timeout', 'refused']);

function checkUpdate(v: Record<string, unknown>): DecodeResult {
  const u = v.update;
  const bad =
    str(v, 'peerId') ??
    seq(v) ??
    (isObject(u)
      ? ((UPDATE_KINDS.has(u.kind as string) ? undefined : 'update.kind: unknown') ??
        str(u, 'id') ??
        count(u, 'incarnation') ??
        (u.kind === 'suspect' || u.kind === 'dead' ? str(u, 'from') : undefined) ??
        (u.kind === 'suspect' && !EVIDENCE.has(u.evidence as string) ? 'update.evidence: unknown' : undefined))
      : 'update: expected an object');
  if (bad) return schema(bad);
  const o = u as Record<string, unknown>;
  const base = { id: o.id as string, incarnation: o.incarnation as number };
  const update: MemberUpdate['update'] =
    o.kind === 'suspect'
      ? { kind: 'suspect', ...base, from: o.from as string, evidence: o.evidence as 'timeout' | 'refused' }
      : o.kind === 'dead'
        ? { kind: 'dead', ...base, from: o.from as string }
        : { kind: o.kind as 'alive' | 'left', ...base };
  return {
    ok: true,
    msg: { v: WIRE_VERSION, type: 'update', peerId: v.peerId as string, seq: v.seq as number, update },
  };
}

function checkSummary(v: Record<string, unknown>): DecodeResult {
  const list = v.members;
  let bad = str(v, 'peerId') ?? seq(v) ?? count(v, 'term') ?? count(v, 'at');
  if (!bad && (!Array.isArray(list) || list.length > WIRE_LIMITS.maxSummaryMembers))
    bad = `members: expected at most ${WIRE_LIMITS.maxSummaryMembers} entries`;
  const members: LoadSummary['members'] = [];
  for (const m of bad ? [] : (list as unknown[])) {
    if (!isObject(m)) return schema('members: expected objects');
    const mbad = str(m, 'peerId') ?? count(m, 'ageMs') ?? metrics(m.metrics);
    if (mbad) return schema(`members.${mbad}`);
    members.push({ peerId: m.peerId as string, ageMs: m.ageMs as number, metrics: m.metrics as MetricMap });
  }
  if (bad) return schema(bad);
  const summary: LoadSummary = {
    v: WIRE_VERSION,
    type: 'summary',
    peerId: v.peerId as string,
    seq: v.seq as number,
    term: v.term as number,
    at: v.at as number,
    members,
  };
  return { ok: true, msg: summary };
}

function checkStopping(v: Record<string, unknown>): DecodeResult {
  const bad = str(v, 'peerId') ?? seq(v) ?? count(v, 'at');
  if (bad) return schema(bad);
  const stopping: PoolStopping = {
    v: WIRE_VERSION,
    type: 'stopping',
    peerId: v.peerId as string,
    seq: v.seq as number,
    at: v.at as number,
  };
  return { ok: true, msg: stopping };
}

type Check = (v: Record<string, unknown>, key: string) => string | undefined;

function optional(v: Record<string, unknown>, key: string, check: Check, required = false): string | undefined {
  if (v[key] === undefined) return required ? `${key}: missing` : undefined;
  return check(v, key);
}

function bool(v: Record<string, unknown>, key: string): string | undefined {
  return typeof v[key] === 'boolean' ? undefined : `${key}: expected a boolean`;
}

function ids(v: Record<string, unknown>, key: string): string | undefined {
  const a = v[key];
  if (!Array.isArray(a) || a.length > WIRE_LIMITS.maxTargets)
    return `${key}: expected at most ${WIRE_LIMITS.maxTargets} ids`;
  for (const s of a) {
    if (typeof s !== 'string' || s.length === 0 || s.length > WIRE_LIMITS.maxStringLength)
      return `${key}: expected id strings`;
  }
  return undefined;
}

function schema(detail: string): DecodeResult {
  return { ok: false, reason: 'schema', detail };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: Record<string, unknown>, key: string, allowEmpty = false): string | undefined {
  const s = v[key];
  if (typeof s !== 'string') return `${key}: expected a string`;
  if (!allowEmpty && s.length === 0) return `${key}: must not be empty`;
  if (s.length > WIRE_LIMITS.maxStringLength) return `${key}: longer than ${WIRE_LIMITS.maxStringLength}`;
  return undefined;
}

function count(v: Record<string, unknown>, key: string): string | undefined {
  const n = v[key];
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return `${key}: expected a non-negative integer`;
  return undefined;
}

function seq(v: Record<string, unknown>): string | undefined {
  return count(v, 'seq');
}

function addrs(a: unknown): string | undefined {
  if (!Array.isArray(a)) return 'addrs: expected an array';
  if (a.length > WIRE_LIMITS.maxAddrs) return `addrs: more than ${WIRE_LIMITS.maxAddrs}`;
  for (const s of a) {
    if (typeof s !== 'string' || s.length === 0 || s.length > WIRE_LIMITS.maxStringLength || s[0] !== '/') {
      return 'addrs: expected multiaddr strings';
    }
  }
  return undefined;
}

function metrics(m: unknown): string | undefined {
  if (!isObject(m)) return 'metrics: expected an object';
  let n = 0;
  for (const key in m) {
    if (++n > WIRE_LIMITS.maxMetrics) return `metrics: more than ${WIRE_LIMITS.maxMetrics}`;
    if (!WIRE_LIMITS.metricName.test(key)) return `metrics: bad name ${JSON.stringify(key.slice(0, 40))}`;
    const value = m[key];
    if (value !== null && (typeof value !== 'number' || !(Math.abs(value) <= WIRE_LIMITS.maxMetricValue))) {
      return `metrics.${key}: expected a number within ±${WIRE_LIMITS.maxMetricValue} or null`;
    }
  }
  return undefined;
}
