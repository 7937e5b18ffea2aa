import {
  addrs,
  bool,
  count,
  type DecodeResult,
  ids,
  isObject,
  metrics,
  optional,
  schema,
  seq,
  sha,
  str,
} from './field-checks.ts';
import {
  type BundleReport,
  type BundleState,
  type Heartbeat,
  IDENTITY_LIMITS,
  type IdentityEvidence,
  type RolloutAnnouncement,
  WIRE_VERSION,
} from './heartbeat.ts';
import type { MetricMap } from './metrics.ts';

/** Checking a heartbeat (a member's record) from a peer, with its bundle report and rollout. */

const BUNDLE_STATES = new Set(['fetching', 'applying', 'ok', 'failed']);

export function checkHeartbeat(v: Record<string, unknown>): DecodeResult {
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
    optional(v, 'rollout', rollout) ??
    optional(v, 'identity', identity);
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
  if (v.identity !== undefined) hb.identity = v.identity as IdentityEvidence;
  return { ok: true, msg: hb };
}

/** Checks a record (a heartbeat-shaped object) that arrived inside another message (sync). */
export function checkRecord(value: unknown): Heartbeat | undefined {
  if (!isObject(value) || value.v !== WIRE_VERSION || value.type !== 'heartbeat') return undefined;
  const r = checkHeartbeat(value);
  return r.ok ? (r.msg as Heartbeat) : undefined;
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

/** An EC2 member's identity document and signature: two bounded strings, nothing else rides along. */
function identity(v: Record<string, unknown>, key: string): string | undefined {
  const r = v[key];
  if (!isObject(r)) return `${key}: expected an object`;
  const { document, signature } = r;
  if (typeof document !== 'string' || document.length === 0 || document.length > IDENTITY_LIMITS.document)
    return `${key}.document: expected a string of at most ${IDENTITY_LIMITS.document}`;
  if (typeof signature !== 'string' || signature.length === 0 || signature.length > IDENTITY_LIMITS.signature)
    return `${key}.signature: expected a string of at most ${IDENTITY_LIMITS.signature}`;
  v[key] = { document, signature } satisfies IdentityEvidence;
  return undefined;
}
