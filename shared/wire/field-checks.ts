import { WIRE_VERSION, type WireMessage } from './heartbeat.ts';

/**
 * The building blocks of the gossip decoders (codec.ts): bounds, and field checks that return the
 * reason a field is wrong (undefined when it is right) instead of throwing.
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

export type Check = (v: Record<string, unknown>, key: string) => string | undefined;

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * A message's (or nested object's) fields, each with the check its value must pass. Typed by the
 * interface it decodes to, so a field added there without a check here does not compile. Checks run
 * in the order listed; the first reason wins.
 */
export type Fields<T> = { readonly [K in Exclude<keyof T, 'v' | 'type'>]-?: Check };

type FieldTable = Readonly<Record<string, Check>>;

/** The first reason one of `fields` gives, or undefined when all pass. */
export function checkFields(v: Record<string, unknown>, fields: FieldTable): string | undefined {
  for (const key in fields) {
    const bad = fields[key]?.(v, key);
    if (bad) return bad;
  }
  return undefined;
}

/** Only the listed fields that are present, added to `out`: keys a peer adds never ride along. */
export function copyFields(
  v: Record<string, unknown>,
  fields: FieldTable,
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const key in fields) if (v[key] !== undefined) out[key] = v[key];
  return out;
}

/** Checks a gossip message of `type` and rebuilds it from its checked fields. */
export function checkMessage(v: Record<string, unknown>, type: WireMessage['type'], fields: FieldTable): DecodeResult {
  const bad = checkFields(v, fields);
  if (bad) return schema(bad);
  return { ok: true, msg: copyFields(v, fields, { v: WIRE_VERSION, type }) as unknown as WireMessage };
}

/** A nested object, replaced by a copy of just its checked fields. */
export function object<T>(fields: Fields<T>): Check {
  return (v, key) => {
    const o = v[key];
    if (!isObject(o)) return `${key}: expected an object`;
    const bad = checkFields(o, fields);
    if (bad) return `${key}.${bad}`;
    v[key] = copyFields(o, fields);
    return undefined;
  };
}

/** Passes an absent field (or, with `required`, says it is missing); checks a present one. */
export function opt(check: Check, required = false): Check {
  return (v, key) => optional(v, key, check, required);
}

/** One of a closed set of strings. */
export function oneOf(values: readonly string[], reason: string): Check {
  const allowed = new Set(values);
  return (v, key) => (allowed.has(v[key] as string) ? undefined : `${key}: ${reason}`);
}

/** A string that may be empty (a reason, a URL not yet known). */
export const text: Check = (v, key) => str(v, key, true);

export function sha(v: Record<string, unknown>, key: string): string | undefined {
  return typeof v[key] === 'string' && SHA256.test(v[key] as string)
    ? undefined
    : `${key}: expected a sha256 hex digest`;
}

export function optional(v: Record<string, unknown>, key: string, check: Check, required = false): string | undefined {
  if (v[key] === undefined) return required ? `${key}: missing` : undefined;
  return check(v, key);
}

export function bool(v: Record<string, unknown>, key: string): string | undefined {
  return typeof v[key] === 'boolean' ? undefined : `${key}: expected a boolean`;
}

export function ids(v: Record<string, unknown>, key: string): string | undefined {
  const a = v[key];
  if (!Array.isArray(a) || a.length > WIRE_LIMITS.maxTargets)
    return `${key}: expected at most ${WIRE_LIMITS.maxTargets} ids`;
  for (const s of a) {
    if (typeof s !== 'string' || s.length === 0 || s.length > WIRE_LIMITS.maxStringLength)
      return `${key}: expected id strings`;
  }
  return undefined;
}

export function schema(detail: string): DecodeResult {
  return { ok: false, reason: 'schema', detail };
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: Record<string, unknown>, key: string, allowEmpty = false): string | undefined {
  const s = v[key];
  if (typeof s !== 'string') return `${key}: expected a string`;
  if (!allowEmpty && s.length === 0) return `${key}: must not be empty`;
  if (s.length > WIRE_LIMITS.maxStringLength) return `${key}: longer than ${WIRE_LIMITS.maxStringLength}`;
  return undefined;
}

export function count(v: Record<string, unknown>, key: string): string | undefined {
  const n = v[key];
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return `${key}: expected a non-negative integer`;
  return undefined;
}

export function addrs(v: Record<string, unknown>, key: string): string | undefined {
  const a = v[key];
  if (!Array.isArray(a)) return `${key}: expected an array`;
  if (a.length > WIRE_LIMITS.maxAddrs) return `${key}: more than ${WIRE_LIMITS.maxAddrs}`;
  for (const s of a) {
    if (typeof s !== 'string' || s.length === 0 || s.length > WIRE_LIMITS.maxStringLength || s[0] !== '/') {
      return `${key}: expected multiaddr strings`;
    }
  }
  return undefined;
}

/** metrics as a field check; metrics() itself also checks bare load reports. */
export const metricsField: Check = (v, key) => metrics(v[key]);

export function metrics(m: unknown): string | undefined {
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
