import type { Comparison, Rule, RuleExpr } from './rule.ts';

/**
 * Rules back to text (rule.ts parses them): the canonical form re-parses to the same tree, so a
 * rule can be shown, logged and compared as text.
 */

/** Canonical text of a rule: lowercase keywords, explicit aggregates, minimal parentheses. */
export function formatRule(rule: Pick<Rule, 'expr' | 'sustainMs'>): string {
  const expr = formatExpr(rule.expr);
  return rule.sustainMs > 0 ? `${expr} for ${formatSustain(rule.sustainMs)}` : expr;
}

export function formatExpr(expr: RuleExpr): string {
  if (expr.kind === 'cmp') return formatComparison(expr);
  return `${operand(expr.left, expr.kind, false)} ${expr.kind} ${operand(expr.right, expr.kind, true)}`;
}

/** `max(cpu) > 90`: the text of one term, as shown to operators in evaluations. */
export function formatComparison(cmp: Comparison): string {
  return `${cmp.agg}(${cmp.metric}) ${cmp.op} ${formatNumber(cmp.value)}`;
}

// Parsing is left-associative, so a right operand of the same kind keeps its parentheses:
// otherwise `a and (b and c)` would re-parse as `(a and b) and c`, a different tree.
function operand(child: RuleExpr, parent: 'and' | 'or', right: boolean): string {
  const text = formatExpr(child);
  if (child.kind === 'cmp') return text;
  const wrap = (parent === 'and' && child.kind === 'or') || (right && child.kind === parent);
  return wrap ? `(${text})` : text;
}

// String() gives the shortest text that reads back as the same number, but switches to exponents
// (1e+21, 1.5e-7) that the grammar does not accept: move the decimal point by hand instead.
function formatNumber(value: number): string {
  const text = String(value);
  const e = text.indexOf('e');
  if (e < 0) return text;
  const sign = value < 0 ? '-' : '';
  const mantissa = text.slice(sign.length, e);
  const digits = mantissa.replace('.', '');
  const point = (mantissa.indexOf('.') < 0 ? mantissa.length : mantissa.indexOf('.')) + Number(text.slice(e + 1));
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function formatSustain(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
