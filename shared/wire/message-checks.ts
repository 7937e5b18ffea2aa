import {
  addrs,
  bool,
  type Check,
  checkFields,
  checkMessage,
  copyFields,
  count,
  type DecodeResult,
  type Fields,
  ids,
  isObject,
  metricsField,
  object,
  oneOf,
  opt,
  schema,
  sha,
  str,
  text,
  WIRE_LIMITS,
} from './field-checks.ts';
import {
  type BundleReport,
  type Heartbeat,
  IDENTITY_LIMITS,
  type IdentityEvidence,
  type LoadSummary,
  type RolloutAnnouncement,
  type ScalingAction,
  WIRE_VERSION,
  type WireMessage,
} from './heartbeat.ts';
import { RECORD_SIG_BYTES } from './record-signature.ts';
import type { Update } from './swim.ts';

/**
 * What each gossip message may carry: its fields and their checks, by type. A message is rebuilt
 * from its checked fields only, nested objects included.
 */

// Records (heartbeats) and what they carry.

/** A flag sent only when set: false reads as absent, so a record is the same either way. */
const flag: Check = (v, key) => {
  const bad = bool(v, key);
  if (v[key] === false) delete v[key];
  return bad;
};

/** A non-empty string of at most `max` characters (longer than the wire's usual bound). */
function bounded(max: number): Check {
  return (v, key) => {
    const s = v[key];
    return typeof s === 'string' && s.length > 0 && s.length <= max
      ? undefined
      : `${key}: expected a string of at most ${max}`;
  };
}

const BUNDLE_REPORT: Fields<BundleReport> = {
  ok: bool,
  resolver: (v, key) => (v[key] === null ? undefined : str(v, key)),
  durationMs: count,
  verifiers: object<BundleReport['verifiers']>({ passed: count, failed: ids }),
};

const ROLLOUT: Fields<RolloutAnnouncement> = {
  sha,
  allowed: ids,
  maxUnavailable: count,
  startedAt: count,
  halted: opt(str),
  cloud: opt(str),
};

/** An EC2 member's identity document and signature: two bounded strings, nothing else rides along. */
const IDENTITY: Fields<IdentityEvidence> = {
  document: bounded(IDENTITY_LIMITS.document),
  signature: bounded(IDENTITY_LIMITS.signature),
};

/** A record's signature: exactly an Ed25519 signature's bytes (checked against its member elsewhere). */
const sig: Check = (v, key) => {
  const b = v[key];
  return b instanceof Uint8Array && b.byteLength === RECORD_SIG_BYTES
    ? undefined
    : `${key}: expected ${RECORD_SIG_BYTES} bytes`;
};

const HEARTBEAT: Fields<Heartbeat> = {
  peerId: str,
  instanceId: str,
  cloud: str,
  monitor: text,
  version: str,
  seq: count,
  startedAt: count,
  addrs,
  metrics: metricsField,
  term: opt(count),
  leads: opt(count),
  retiring: opt(flag),
  bundle: opt(sha),
  bundleTarget: opt(sha),
  bundleState: opt(oneOf(['fetching', 'applying', 'ok', 'failed'], 'unknown state')),
  bundleReport: opt(object(BUNDLE_REPORT)),
  rollout: opt(object(ROLLOUT)),
  identity: opt(object(IDENTITY)),
  sig: opt(sig),
};

// Membership updates, the leader's control messages and summaries.

const SIGNED = { peerId: str, seq: count } as const;
const IN_TERM = { ...SIGNED, term: count, at: count } as const;

const ACTION: Fields<ScalingAction> = {
  ...IN_TERM,
  cloud: str,
  action: count,
  kind: oneOf(['expand', 'contract', 'replace'], 'expected expand, contract or replace'),
  token: str,
};

type Member = LoadSummary['members'][number];
const MEMBER: Fields<Member> = { peerId: str, ageMs: count, metrics: metricsField };

/** The summary's members, each rebuilt from its checked fields. */
const members: Check = (v, key) => {
  const list = v[key];
  if (!Array.isArray(list) || list.length > WIRE_LIMITS.maxSummaryMembers)
    return `${key}: expected at most ${WIRE_LIMITS.maxSummaryMembers} entries`;
  const clean: Partial<Member>[] = [];
  for (const m of list) {
    if (!isObject(m)) return `${key}: expected objects`;
    const bad = checkFields(m, MEMBER);
    if (bad) return `${key}.${bad}`;
    clean.push(copyFields(m, MEMBER));
  }
  v[key] = clean;
  return undefined;
};

/** Each kind of update carries its own fields; the kind picks which are checked. */
const UPDATE_BASE = { kind: str, id: str, incarnation: count } as const;
const UPDATES = new Map<string, Check>([
  ['alive', object<Extract<Update, { kind: 'alive' }>>(UPDATE_BASE)],
  ['left', object<Extract<Update, { kind: 'left' }>>(UPDATE_BASE)],
  ['dead', object<Extract<Update, { kind: 'dead' }>>({ ...UPDATE_BASE, from: str })],
  [
    'suspect',
    object<Extract<Update, { kind: 'suspect' }>>({
      ...UPDATE_BASE,
      from: str,
      evidence: oneOf(['timeout', 'refused'], 'unknown'),
    }),
  ],
]);

const update: Check = (v, key) => {
  const u = v[key];
  if (!isObject(u)) return `${key}: expected an object`;
  const check = UPDATES.get(u.kind as string);
  return check ? check(v, key) : `${key}.kind: unknown`;
};

const MESSAGES: { readonly [T in WireMessage['type']]: Fields<Extract<WireMessage, { type: T }>> } = {
  heartbeat: HEARTBEAT,
  intent: { ...ACTION, count, targets: ids, reason: text },
  outcome: { ...ACTION, ok: opt(bool, true), instanceIds: ids, error: opt(str) },
  retire: { ...IN_TERM, target: str, token: str },
  update: { ...SIGNED, update },
  summary: { ...IN_TERM, members },
  stopping: { ...SIGNED, at: count },
};

/** Checks a message of any of the wire's types by that type's fields. */
export function checkByType(v: Record<string, unknown>): DecodeResult {
  const type = v.type as WireMessage['type'];
  if (typeof type !== 'string' || !Object.hasOwn(MESSAGES, type))
    return schema(`unknown type ${JSON.stringify(type)?.slice(0, 40)}`);
  return checkMessage(v, type, MESSAGES[type]);
}

/** Checks a record (a heartbeat-shaped object) that arrived inside another message (sync). */
export function checkRecord(value: unknown): Heartbeat | undefined {
  if (!isObject(value) || value.v !== WIRE_VERSION || value.type !== 'heartbeat') return undefined;
  const r = checkMessage(value, 'heartbeat', HEARTBEAT);
  return r.ok ? (r.msg as Heartbeat) : undefined;
}
