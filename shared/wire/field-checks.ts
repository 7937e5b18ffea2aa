import type { WireMessage } from './heartbeat.ts';

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

export function seq(v: Record<string, unknown>): string | undefined {
  return count(v, 'seq');
}

export function addrs(a: unknown): string | undefined {
  if (!Array.isArray(a)) return 'addrs: expected an array';
  if (a.length > WIRE_LIMITS.maxAddrs) return `addrs: more than ${WIRE_LIMITS.maxAddrs}`;
  for (const s of a) {
    if (typeof s !== 'string' || s.length === 0 || s.length > WIRE_LIMITS.maxStringLength || s[0] !== '/') {
      return 'addrs: expected multiaddr strings';
    }
  }
  return undefined;
}

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
