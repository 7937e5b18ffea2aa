import type { MetricValue } from '../wire/metrics.ts';
import type { Aggregate, CompareOp, Comparison, Rule, RuleExpr } from './rule.ts';
import { formatComparison } from './rule-format.ts';

/** One comparison of a rule with the value it saw: enough for an operator to see why it scaled. */
export interface TermResult {
  /** Canonical text of the term, e.g. `max(cpu) > 90`. */
  text: string;
  agg: Aggregate;
  metric: string;
  op: CompareOp;
  threshold: number;
  /** The aggregate over the members that reported the metric; null when none did. */
  value: number | null;
  holds: boolean;
}

export interface Evaluation {
  holds: boolean;
  /** Every term of the rule in source order, including those `and`/`or` did not need. */
  terms: TermResult[];
}

const PERCENTILES: Partial<Record<Aggregate, number>> = { p50: 50, p90: 90, p99: 99 };

/**
 * Aggregates a metric over members; null for no values. Percentiles are nearest-rank: always a
 * value some member actually reported, never an interpolation between two. `members` (default:
 * as many as values) divides `permember`'s sum.
 */
export function aggregate(agg: Aggregate, values: readonly number[], members = values.length): number | null {
  if (values.length === 0) return null;
  switch (agg) {
    case 'permember': {
      let sum = 0;
      for (const v of values) sum += v;
      return sum / Math.max(1, members);
    }
    case 'min':
      return values.reduce((a, b) => Math.min(a, b));
    case 'max':
      return values.reduce((a, b) => Math.max(a, b));
    case 'sum':
    case 'avg': {
      let sum = 0;
      for (const v of values) sum += v;
      return agg === 'sum' ? sum : sum / values.length;
    }
    case 'p50':
    case 'p90':
    case 'p99': {
      const sorted = [...values].sort((a, b) => a - b);
      // Integer percentile times count, then divide: exact, so p90 of 10 values is rank 9, not 10.
      const rank = Math.max(1, Math.ceil(((PERCENTILES[agg] as number) * sorted.length) / 100));
      return sorted[rank - 1] as number;
    }
  }
}

export function compare(value: number, op: CompareOp, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

/** The metric's values across members, skipping members that lack it or whose source failed. */
export function metricValues(
  members: ReadonlyArray<Readonly<Record<string, MetricValue | undefined>>>,
  metric: string,
): number[] {
  const values: number[] = [];
  for (const member of members) {
    // Own properties only: a metric named `constructor` must not read Object.prototype.
    if (!Object.hasOwn(member, metric)) continue;
    const v = member[metric];
    if (typeof v === 'number' && Number.isFinite(v)) values.push(v);
  }
  return values;
}

export function evaluateComparison(
  cmp: Comparison,
  members: ReadonlyArray<Readonly<Record<string, MetricValue | undefined>>>,
): TermResult {
  const value = aggregate(cmp.agg, metricValues(members, cmp.metric), members.length);
  return {
    text: formatComparison(cmp),
    agg: cmp.agg,
    metric: cmp.metric,
    op: cmp.op,
    threshold: cmp.value,
    value,
    // No data is not a reason to scale either way.
    holds: value !== null && compare(value, cmp.op, cmp.value),
  };
}

/**
 * Evaluates a rule over the metric maps of a cloud's alive members. Pure: the sustain timer and
 * cooldowns are the caller's (see sustain.ts).
 */
export function evaluateRule(
  rule: Pick<Rule, 'expr'>,
  members: ReadonlyArray<Readonly<Record<string, MetricValue | undefined>>>,
): Evaluation {
  const terms: TermResult[] = [];
  const walk = (expr: RuleExpr): boolean => {
    if (expr.kind === 'cmp') {
      const term = evaluateComparison(expr, members);
      terms.push(term);
      return term.holds;
    }
    // Both sides always run, so the report lists every term, not only the deciding ones.
    const left = walk(expr.left);
    const right = walk(expr.right);
    return expr.kind === 'and' ? left && right : left || right;
  };
  const holds = walk(rule.expr);
  return { holds, terms };
}
