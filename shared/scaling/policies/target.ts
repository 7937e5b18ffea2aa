import type { TargetPolicy } from '../../config/policy-schema.ts';
import { formatValue, type PolicyVerdict } from './verdict.ts';

/** One raw recommendation of target tracking, kept for the stabilization windows. */
export interface Recommendation {
  at: number;
  desired: number;
}

// A ratio like 0.9 / 0.6 is 1.4999999999999998 in floating point: without the slack, 3 × that
// would round up to 5 when 4.5 → 5 is meant, and 2 × 1.5000000001 to 4 when 3 is meant.
const EPSILON = 1e-9;

/**
 * Target tracking as the Kubernetes HPA sizes it: desired = ceil(count × value / target) once the
 * value leaves the tolerance band around the target. Stabilization: a scale-out takes the lowest
 * recommendation of its window (default none), a scale-in the highest of its (default 5 min), so
 * one low sample does not shed capacity the next minute needs. Pure: the history comes and goes.
 */
export function targetVerdict(
  p: TargetPolicy,
  value: number | null,
  count: number,
  history: readonly Recommendation[],
  now: number,
): { verdict: PolicyVerdict; history: Recommendation[] } {
  const label = `${p.agg}(${p.metric})`;
  const keep = Math.max(p.scaleInStabilization, p.scaleOutStabilization);
  const recent = history.filter((r) => r.at >= now - keep && r.at <= now);
  if (value === null) {
    return { verdict: { policy: 'target', desired: null, why: `no fresh ${label} samples` }, history: recent };
  }
  if (count === 0) {
    return {
      verdict: { policy: 'target', desired: null, why: `${label}: no instances to size from` },
      history: recent,
    };
  }
  const ratio = value / p.value;
  const within = Math.abs(ratio - 1) <= p.tolerance + EPSILON;
  const raw = within ? count : Math.max(0, Math.ceil(count * ratio - EPSILON));
  const next = [...recent, { at: now, desired: raw }];
  const window = (ms: number) => next.filter((r) => r.at >= now - ms).map((r) => r.desired);
  let desired = raw;
  let held = '';
  if (raw > count) {
    desired = Math.max(count, Math.min(...window(p.scaleOutStabilization)));
    if (desired < raw) held = `, held at ${desired} by the ${seconds(p.scaleOutStabilization)} scale-out window`;
  } else if (raw < count) {
    desired = Math.min(count, Math.max(...window(p.scaleInStabilization)));
    if (desired > raw) held = `, held at ${desired} by the ${seconds(p.scaleInStabilization)} scale-in window`;
  }
  const band = `±${formatValue(p.tolerance * 100)}%`;
  const why = within
    ? `${label} ${formatValue(value)} is within ${band} of target ${formatValue(p.value)}`
    : `${label} ${formatValue(value)} vs target ${formatValue(p.value)}: ${count} → ${raw}${held}`;
  return { verdict: { policy: 'target', desired, why }, history: next };
}

function seconds(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}
