import { evaluateRule } from '../../shared/scaling/evaluate.ts';
import type { Rule } from '../../shared/scaling/rule.ts';
import { Sustain } from '../../shared/scaling/sustain.ts';
import type { MemberView } from '../../shared/wire/cluster.ts';
import type { RuleStatus } from './policy.ts';

export interface RuleStatuses {
  expand: RuleStatus;
  contract: RuleStatus;
}

/**
 * A cloud's expand and contract rules evaluated on its members' metrics, each with its sustain
 * timer. Run on every node, so a new leader starts with warm timers.
 */
export class RuleWatch {
  readonly #rules: { expand: Rule | null; contract: Rule | null };
  readonly #expand: Sustain | null;
  readonly #contract: Sustain | null;
  #status: RuleStatuses = { expand: idle(), contract: idle() };

  constructor(rules: { expand: Rule | null; contract: Rule | null }) {
    this.#rules = rules;
    this.#expand = rules.expand ? new Sustain(rules.expand.sustainMs) : null;
    this.#contract = rules.contract ? new Sustain(rules.contract.sustainMs) : null;
  }

  get status(): RuleStatuses {
    return this.#status;
  }

  update(metrics: MemberView['metrics'][], now: number): void {
    this.#status = {
      expand: evaluate(this.#rules.expand, this.#expand, metrics, now),
      contract: evaluate(this.#rules.contract, this.#contract, metrics, now),
    };
  }

  /** For GET /scaling: each rule's text, whether it holds, its terms and its sustain state. */
  snapshot() {
    const rule = (r: Rule | null, s: RuleStatus) =>
      r && {
        text: r.text,
        sustainMs: r.sustainMs,
        holds: s.evaluation?.holds ?? false,
        terms: s.evaluation?.terms ?? [],
        sustain: s.sustain,
      };
    return {
      expand: rule(this.#rules.expand, this.#status.expand),
      contract: rule(this.#rules.contract, this.#status.contract),
    };
  }
}

function evaluate(
  rule: Rule | null,
  sustain: Sustain | null,
  metrics: MemberView['metrics'][],
  now: number,
): RuleStatus {
  if (!rule || !sustain) return idle();
  const evaluation = evaluateRule(rule, metrics);
  return { evaluation, sustain: sustain.update(evaluation.holds, now) };
}

function idle(): RuleStatus {
  return { evaluation: null, sustain: { since: null, heldForMs: 0, satisfied: false } };
}
