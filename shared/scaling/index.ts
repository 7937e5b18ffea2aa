export type { ScalingConfig, VictimPolicy } from './config.ts';
export { SCALING_DEFAULTS } from './config.ts';
export type { Evaluation, TermResult } from './evaluate.ts';
export { aggregate, compare, evaluateComparison, evaluateRule, metricValues } from './evaluate.ts';
export type { Aggregate, CompareOp, Comparison, Junction, Rule, RuleExpr } from './rule.ts';
export {
  AGGREGATES,
  COMPARE_OPS,
  formatComparison,
  formatExpr,
  formatRule,
  parseRule,
  RuleSyntaxError,
} from './rule.ts';
export type { SustainState } from './sustain.ts';
export { Sustain } from './sustain.ts';
