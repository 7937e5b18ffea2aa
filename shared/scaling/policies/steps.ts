import type { StepPolicy } from '../../config/policy-schema.ts';
import type { Aggregate } from '../rule.ts';
import { stepPercent } from '../step-amount.ts';
import { formatValue, type PolicyVerdict } from './verdict.ts';

/** The aggregate of a metric over the counted members, or null when none reported it fresh. */
export type ValueFor = (metric: string, agg: Aggregate) => number | null;

/**
 * Step scaling: of the steps whose threshold the metric is past, the one furthest out decides
 * (the highest `above`, else the lowest `below`); its size is a count or a percentage of the
 * current count, at least one instance. A policy with `below` steps holds the size while none
 * matches (it does not agree to a scale-in), one with only `above` steps has no opinion then.
 */
export function stepsVerdict(steps: readonly StepPolicy[], valueFor: ValueFor, count: number): PolicyVerdict | null {
  if (steps.length === 0) return null;
  const seen: string[] = [];
  let up: { step: StepPolicy; value: number } | null = null;
  let down: { step: StepPolicy; value: number } | null = null;
  for (const step of steps) {
    const value = valueFor(step.metric, step.agg);
    const label = `${step.agg}(${step.metric})`;
    if (value === null) continue;
    if (!seen.some((s) => s.startsWith(`${label} `))) seen.push(`${label} ${formatValue(value)}`);
    if (step.above !== undefined && value > step.above && (!up || step.above > (up.step.above as number)))
      up = { step, value };
    if (step.below !== undefined && value < step.below && (!down || step.below < (down.step.below as number)))
      down = { step, value };
  }
  if (up) {
    const n = size(up.step.add as number | string, count);
    return { policy: 'steps', desired: count + n, why: `${describe(up, 'above')}: add ${n}` };
  }
  if (down) {
    const n = Math.min(count, size(down.step.remove as number | string, count));
    return { policy: 'steps', desired: count - n, why: `${describe(down, 'below')}: remove ${n}` };
  }
  const holds = steps.some((s) => s.below !== undefined);
  if (seen.length === 0) return { policy: 'steps', desired: null, why: 'no fresh samples for any step' };
  return { policy: 'steps', desired: holds ? count : null, why: `${seen.join(', ')}: no step applies` };
}

function size(amount: number | string, count: number): number {
  const percent = stepPercent(amount);
  return percent === null ? (amount as number) : Math.max(1, Math.ceil((count * percent) / 100 - 1e-9));
}

function describe(m: { step: StepPolicy; value: number }, side: 'above' | 'below'): string {
  return `${m.step.agg}(${m.step.metric}) ${formatValue(m.value)} ${side} ${formatValue(m.step[side] as number)}`;
}
