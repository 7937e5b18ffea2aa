import {
  bool,
  count,
  type DecodeResult,
  ids,
  isObject,
  metrics,
  optional,
  schema,
  seq,
  str,
  WIRE_LIMITS,
} from './field-checks.ts';
import {
  type Intent,
  type LoadSummary,
  type MemberUpdate,
  type Outcome,
  type PoolStopping,
  type Retire,
  WIRE_VERSION,
} from './heartbeat.ts';
import type { MetricMap } from './metrics.ts';

/** Checking the gossip messages other than heartbeats: scaling actions, membership updates, summaries. */

const KINDS = new Set(['expand', 'contract', 'replace']);

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

export function checkIntent(v: Record<string, unknown>): DecodeResult {
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

export function checkOutcome(v: Record<string, unknown>): DecodeResult {
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

export function checkRetire(v: Record<string, unknown>): DecodeResult {
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

export function checkUpdate(v: Record<string, unknown>): DecodeResult {
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

export function checkSummary(v: Record<string, unknown>): DecodeResult {
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

export function checkStopping(v: Record<string, unknown>): DecodeResult {
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
