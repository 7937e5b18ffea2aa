import type { RuleStatus } from './decide.ts';
import { evaluateRule } from './evaluate.ts';
import { parseRule, type Rule } from './rule.ts';
import { sustainStep } from './sustain.ts';

export interface RuleStatuses {
  expand: RuleStatus;
  contract: RuleStatus;
}

/** Where each rule's sustain timer began (null: not holding): the rules' part of the scaling state. */
export interface RuleTimers {
  expand: number | null;
  contract: number | null;
}

export type MetricMaps = ReadonlyArray<Readonly<Record<string, number | null | undefined>>>;

/**
 * A cloud's expand and contract rules evaluated on its members' metric maps, each advancing its
 * sustain timer. Pure: the timers come in and go out as data, so the agent (on every node, warm
 * timers for a new leader) and the simulator step the same values.
 */
export function observeRules(
  texts: { expandWhen: string | null; contractWhen: string | null },
  timers: RuleTimers,
  metrics: MetricMaps,
  now: number,
): { timers: RuleTimers; status: RuleStatuses } {
  const expand = evaluate(ruleOf(texts.expandWhen), timers.expand, metrics, now);
  const contract = evaluate(ruleOf(texts.contractWhen), timers.contract, metrics, now);
  return { timers: { expand: expand.sustain.since, contract: contract.sustain.since }, status: { expand, contract } };
}

/** For GET /scaling: each rule's text, whether it holds, its terms and its sustain state. */
export function rulesSnapshot(texts: { expandWhen: string | null; contractWhen: string | null }, status: RuleStatuses) {
  const rule = (text: string | null, s: RuleStatus) => {
    const r = ruleOf(text);
    return (
      r && {
        text: r.text,
        sustainMs: r.sustainMs,
        holds: s.evaluation?.holds ?? false,
        terms: s.evaluation?.terms ?? [],
        sustain: s.sustain,
      }
    );
  };
  return { expand: rule(texts.expandWhen, status.expand), contract: rule(texts.contractWhen, status.contract) };
}

export function idleRules(): RuleStatuses {
  return { expand: idle(), contract: idle() };
}

// Rule texts were validated at config load; parsing each once keeps a step allocation-light.
const parsed = new Map<string, Rule>();
export function ruleOf(text: string | null): Rule | null {
  if (!text) return null;
  let rule = parsed.get(text);
  if (!rule) {
    rule = parseRule(text);
    parsed.set(text, rule);
  }
  return rule;
}

function evaluate(rule: Rule | null, since: number | null, metrics: MetricMaps, now: number): RuleStatus {
  if (!rule) return idle();
  const evaluation = evaluateRule(rule, metrics);
  return { evaluation, sustain: sustainStep(since, evaluation.holds, now, rule.sustainMs) };
}

function idle(): RuleStatus {
  return { evaluation: null, sustain: { since: null, heldForMs: 0, satisfied: false } };
}
