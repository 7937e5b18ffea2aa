import type { CloudDefinition, PoolDefinition } from '../shared/config/schema.ts';
import { formatDuration } from '../shared/duration.ts';
import { parseRule, type Rule, type RuleExpr } from '../shared/scaling/rule.ts';
import { BUILTIN_METRICS } from '../shared/wire/metrics.ts';
import {
  type Check,
  type CheckLevel,
  type CloudCheck,
  credentialChecks,
  type Facts,
  resolverCheck,
} from './validate-machine.ts';

/**
 * `poolparty validate`'s checks beyond the schema: what a definition that loads may still get
 * wrong (rules that can never act or that flap, timings that judge a rule on one sample, a
 * resolver or credentials the commands will not find). Pure: everything they need of the machine
 * comes in as `Facts`, so each check is tested without files, PATH or AWS.
 */

export type { Check, CheckLevel, Facts } from './validate-machine.ts';

export function checkPool(pool: PoolDefinition, clouds: readonly string[], facts: Facts): Check[] {
  const checks: Check[] = [{ check: 'schema', level: 'ok', message: `pool '${pool.name}' is well-formed` }];
  for (const name of clouds) {
    const cloud = pool.clouds[name];
    if (cloud) checks.push(...checkCloud(name, cloud, facts));
  }
  return checks;
}

export function checkCloud(name: string, cloud: CloudDefinition, facts: Facts): Check[] {
  return [
    ...instanceChecks(cloud),
    ...ruleChecks(cloud),
    ...metricTimingChecks(cloud),
    resolverCheck(cloud, facts),
    ...credentialChecks(cloud, facts),
  ].map((c) => ({ cloud: name, ...c }));
}

export function instanceChecks(cloud: CloudDefinition): CloudCheck[] {
  const { min, max } = cloud.instances;
  const checks: CloudCheck[] = [{ check: 'instances', level: 'ok', message: `min ${min} ≤ max ${max}` }];
  const s = cloud.scaling;
  const rules = s.expandWhen !== null || s.contractWhen !== null;
  if (rules && min === max) {
    checks.push({
      check: 'instances',
      level: 'warn',
      message: `min equals max (${min}): the scaling rules can never add or retire an instance`,
    });
  }
  if (s.expandWhen !== null && s.expandBy > max - min && max > min) {
    checks.push({
      check: 'scaling',
      level: 'warn',
      message: `expandBy ${s.expandBy} is more than max - min (${max - min}): an expansion is cut to what fits under max`,
    });
  }
  return checks;
}

const parse = (text: string | null, metrics: readonly string[]): Rule | undefined =>
  text === null ? undefined : parseRule(text, metrics);

/** The metrics a rule reads, with where each comes from; then timing and overlap warnings. */
export function ruleChecks(cloud: CloudDefinition): CloudCheck[] {
  const s = cloud.scaling;
  const custom = Object.keys(cloud.metrics);
  const known = [...BUILTIN_METRICS, ...custom];
  const expand = parse(s.expandWhen, known);
  const contract = parse(s.contractWhen, known);
  if (!expand && !contract) {
    return [{ check: 'rules', level: 'ok', message: 'no scaling rules: the leader keeps the cloud within min..max' }];
  }
  const checks: CloudCheck[] = [];
  for (const [key, rule] of [
    ['expandWhen', expand],
    ['contractWhen', contract],
  ] as const) {
    if (!rule) continue;
    const sources = rule.metrics.map(
      (m) =>
        `${m} (${!custom.includes(m) ? 'built-in' : cloud.metrics[m]?.counter ? 'defined; counter, per-second rate' : 'defined'})`,
    );
    checks.push({ check: 'rules', level: 'ok', message: `${key} reads ${sources.join(', ')}` });
    if (rule.sustainMs > 0 && rule.sustainMs < s.interval) {
      checks.push({
        check: 'rules',
        level: 'warn',
        message: `${key} holds 'for ${formatDuration(rule.sustainMs)}', shorter than the evaluation interval (${formatDuration(s.interval)}): one evaluation decides`,
      });
    }
  }
  const unused = custom.filter((m) => !expand?.metrics.includes(m) && !contract?.metrics.includes(m));
  if (unused.length > 0) {
    checks.push({
      check: 'rules',
      level: 'ok',
      message: `metric${unused.length > 1 ? 's' : ''} ${unused.join(', ')} sampled but read by no rule (shown by status and the live page)`,
    });
  }
  const band = expand && contract ? overlap(expand.expr, contract.expr) : undefined;
  if (band) {
    checks.push({
      check: 'rules',
      level: 'warn',
      message: `${band} satisfies both expandWhen and contractWhen: the cloud would grow and shrink in turn`,
    });
  }
  return checks;
}

/**
 * For the common shape, one comparison on each side of the same metric and aggregate
 * ('load > 0.8' / 'load < 0.3'): the values both rules accept, when any. Compound rules are
 * left alone; their overlap depends on values the checks cannot know.
 */
export function overlap(expand: RuleExpr, contract: RuleExpr): string | undefined {
  if (expand.kind !== 'cmp' || contract.kind !== 'cmp') return undefined;
  if (expand.metric !== contract.metric || expand.agg !== contract.agg) return undefined;
  const up = expand.op === '>' || expand.op === '>=';
  const down = contract.op === '<' || contract.op === '<=';
  if (!up || !down) return undefined;
  const closed = expand.op === '>=' && contract.op === '<=';
  const overlaps = closed ? contract.value >= expand.value : contract.value > expand.value;
  if (!overlaps) return undefined;
  const name = expand.agg === 'avg' ? expand.metric : `${expand.agg}(${expand.metric})`;
  return `${name} between ${expand.value} and ${contract.value}`;
}

/** A custom metric sampled less often than a rule's window is judged on one stale sample. */
export function metricTimingChecks(cloud: CloudDefinition): CloudCheck[] {
  const checks: CloudCheck[] = [];
  const known = [...BUILTIN_METRICS, ...Object.keys(cloud.metrics)];
  const rules = [cloud.scaling.expandWhen, cloud.scaling.contractWhen].map((t) => parse(t, known));
  for (const [name, spec] of Object.entries(cloud.metrics)) {
    if (spec.timeout >= spec.every) {
      checks.push({
        check: 'metrics',
        level: 'warn',
        message: `${name}: timeout ${formatDuration(spec.timeout)} is not shorter than every ${formatDuration(spec.every)}: a slow sample delays the next`,
      });
    }
    for (const rule of rules) {
      if (!rule?.metrics.includes(name) || rule.sustainMs === 0 || spec.every <= rule.sustainMs) continue;
      checks.push({
        check: 'metrics',
        level: 'warn',
        message: `${name} is sampled every ${formatDuration(spec.every)}, longer than '${rule.text}' must hold: the rule is judged on one sample`,
      });
    }
  }
  return checks;
}

/** 'error' when any check failed, else 'warn' when any warned, else 'ok'. */
export function worst(checks: readonly Check[]): CheckLevel {
  if (checks.some((c) => c.level === 'error')) return 'error';
  return checks.some((c) => c.level === 'warn') ? 'warn' : 'ok';
}

export function checksText(file: string, checks: readonly Check[]): string {
  const lines = checks.map((c) => `${c.level.padEnd(5)}  ${c.cloud ? `${c.cloud}: ` : ''}${c.check}: ${c.message}`);
  const count = (level: CheckLevel) => checks.filter((c) => c.level === level).length;
  const errors = count('error');
  const warnings = count('warn');
  const verdict = errors > 0 ? 'invalid' : 'valid';
  return [...lines, '', `${file}: ${verdict} (${errors} error(s), ${warnings} warning(s))`].join('\n');
}
