import {
  type BundleReport,
  type BundleState,
  type Heartbeat,
  type Intent,
  type Leave,
  type Outcome,
  type Retire,
  type RolloutAnnouncement,
  WIRE_VERSION,
  type WireMessage,
} from './heartbeat.ts';
import type { MetricMap } from './metrics.ts';

/**
 * Encoding and validation of gossip messages. Runs for every inbound message on every node, so it
 * is hand-written (no schema library), allocation-light, and never throws: anything a peer sends
 * is either a valid message or a reason to reject it.
 */

export type RejectReason = 'too-large' | 'not-json' | 'version' | 'schema';

export type DecodeResult = { ok: true; msg: WireMessage } | { ok: false; reason: RejectReason; detail: string };

/** Bounds that keep one member's heartbeat from bloating every other member's view. */
export const WIRE_LIMITS = {
  maxAddrs: 16,
  maxStringLength: 256,
  maxMetrics: 64,
  maxTargets: 256,
  metricName: /^[A-Za-z_][A-Za-z0-9_]{0,63}$/,
} as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeMessage(msg: WireMessage): Uint8Array {
  return encoder.encode(JSON.stringify(msg));
}

export function decodeMessage(bytes: Uint8Array, maxBytes: number): DecodeResult {
  if (bytes.byteLength > maxBytes) {
    return { ok: false, reason: 'too-large', detail: `message of ${bytes.byteLength} bytes exceeds ${maxBytes}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return { ok: false, reason: 'not-json', detail: 'message is not UTF-8 JSON' };
  }
  if (!isObject(value)) return schema('message is not an object');
  if (value.v !== WIRE_VERSION)
    return { ok: false, reason: 'version', detail: `unsupported version ${String(value.v)}` };
  if (value.type === 'heartbeat') return checkHeartbeat(value);
  if (value.type === 'leave') return checkLeave(value);
  if (value.type === 'intent') return checkIntent(value);
  if (value.type === 'outcome') return checkOutcome(value);
  if (value.type === 'retire') return checkRetire(value);
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

function checkLeave(v: Record<string, unknown>): DecodeResult {
  const bad = str(v, 'peerId') ?? seq(v);
  if (bad) return schema(bad);
  const leave: Leave = { v: WIRE_VERSION, type: 'leave', peerId: v.peerId as string, seq: v.seq as number };
  return { ok: true, msg: leave };
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
    if (value !== null && (typeof value !== 'number' || !Number.isFinite(value))) {
      return `metrics.${key}: expected a finite number or null`;
    }
  }
  return undefined;
}
