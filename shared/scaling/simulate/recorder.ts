import type { PolicyDecision } from '../decide.ts';
import { aggregate, metricValues } from '../evaluate.ts';
import type { Aggregate } from '../rule.ts';
import type { MetricMaps } from '../rule-status.ts';
import type { StepResult } from '../step.ts';
import type { SimInstance } from './pool-model.ts';
import type {
  CountPoint,
  SimDecision,
  SimSummary,
  SimulationResult,
  SimulationSetup,
  TermPoint,
  Threshold,
} from './types.ts';

const HOUR_MS = 3_600_000;

/**
 * Everything a simulation keeps: decisions (a repeated "nothing to do" once, until its reason
 * changes or an action happens, as the live DecisionLog keeps them), the count timeline and what
 * the rules saw (each only when it changes, so a day at 1 s stays small), and the running sums
 * of the summary.
 */
export class Recorder {
  readonly #setup: SimulationSetup;
  readonly #start: number;
  readonly #end: number;
  readonly #decisions: SimDecision[] = [];
  readonly #timeline: CountPoint[] = [];
  readonly #terms: TermPoint[] = [];
  readonly #thresholds: Threshold[] = [];
  #lastNone = '';
  #lastTerms = '';
  #evaluations = 0;
  #countMs = 0;
  #belowMs = 0;
  #atMaxMs = 0;
  #peak = 0;
  #lowest = Number.POSITIVE_INFINITY;

  constructor(setup: SimulationSetup, start: number, end: number) {
    this.#setup = setup;
    this.#start = start;
    this.#end = end;
  }

  /**
   * One evaluation at `now`, standing for the next `spanMs` of trace time. `metrics` are the
   * members' values, for the aggregates the target and step policies read.
   */
  observe(now: number, step: StepResult, instances: number, ready: number, spanMs: number, metrics: MetricMaps): void {
    this.#evaluations++;
    this.#countMs += instances * spanMs;
    this.#peak = Math.max(this.#peak, instances);
    this.#lowest = Math.min(this.#lowest, instances);
    // The bounds in force: a schedule window may have moved them.
    if (instances >= (step.bounds ?? this.#setup.bounds).max) this.#atMaxMs += spanMs;
    const wantsMore =
      step.rules.expand.evaluation?.holds === true ||
      step.decision.policies.some((p) => p.desired !== null && p.desired > ready);
    if (wantsMore || ready < this.#setup.bounds.min) this.#belowMs += spanMs;

    const last = this.#timeline[this.#timeline.length - 1];
    if (!last || last.instances !== instances || last.ready !== ready)
      this.#timeline.push({ at: now, instances, ready });

    const values: Record<string, number | null> = {};
    for (const kind of ['expand', 'contract'] as const) {
      for (const term of step.rules[kind].evaluation?.terms ?? []) {
        values[term.text] = term.value;
        if (!this.#thresholds.some((t) => t.rule === kind && t.text === term.text)) {
          this.#thresholds.push({ rule: kind, text: term.text, metric: term.metric, value: term.threshold });
        }
      }
    }
    for (const t of policyThresholds(this.#setup.config)) {
      values[t.text] = aggregate(t.agg, metricValues(metrics, t.metric));
      if (!this.#thresholds.some((x) => x.rule === t.rule && x.text === t.text)) {
        this.#thresholds.push({ rule: t.rule, text: t.text, metric: t.metric, value: t.value });
      }
    }
    const key = JSON.stringify(values);
    if (key !== this.#lastTerms) {
      this.#lastTerms = key;
      this.#terms.push({ at: now, values });
    }
  }

  act(d: SimDecision): void {
    this.#decisions.push(d);
    this.#lastNone = '';
  }

  /** A decision to do nothing, kept when its reason (numbers aside) differs from the last one. */
  none(at: number, d: PolicyDecision & { policies?: SimDecision['policies'] }, instances: number): void {
    const key = `${d.blocked ?? ''}:${d.reason.replace(/[\d.]+s/g, '')}`;
    if (key === this.#lastNone) return;
    this.#lastNone = key;
    this.#decisions.push({
      at,
      action: 'none',
      count: 0,
      reason: d.reason,
      instances,
      policies: d.policies ?? [],
      ...(d.policy ? { policy: d.policy } : {}),
      ...(d.blocked ? { blocked: d.blocked } : {}),
    });
  }

  result(instances: readonly SimInstance[]): SimulationResult {
    const count = (a: SimDecision['action']) => this.#decisions.filter((d) => d.action === a).length;
    const durationMs = this.#end - this.#start;
    const summary: SimSummary = {
      evaluations: this.#evaluations,
      expands: count('expand'),
      contracts: count('contract'),
      replaces: count('replace'),
      launched: instances.filter((i) => i.launchedAt >= this.#start).length,
      terminated: instances.filter((i) => i.endedAt !== null).length,
      peak: this.#peak,
      lowest: Number.isFinite(this.#lowest) ? this.#lowest : 0,
      instanceHours: round(this.#countMs / HOUR_MS),
      belowTargetMs: this.#belowMs,
      atMaxMs: this.#atMaxMs,
      durationMs,
    };
    return {
      cloud: this.#setup.cloud,
      start: this.#start,
      end: this.#end,
      intervalMs: this.#setup.config.interval,
      bounds: this.#setup.bounds,
      decisions: this.#decisions,
      timeline: this.#timeline,
      terms: this.#terms,
      thresholds: this.#thresholds,
      summary,
    };
  }
}

/** The lines a chart draws for the target and step policies, each with the aggregate it compares. */
function policyThresholds(config: SimulationSetup['config']): (Threshold & { agg: Aggregate })[] {
  const out: (Threshold & { agg: Aggregate })[] = [];
  const t = config.target;
  if (t)
    out.push({
      rule: 'target',
      text: `${t.agg}(${t.metric}) = ${t.value}`,
      metric: t.metric,
      value: t.value,
      agg: t.agg,
    });
  for (const s of config.steps ?? []) {
    const value = s.above ?? s.below;
    if (value === undefined) continue;
    const text = `${s.agg}(${s.metric}) ${s.above !== undefined ? `> ${value}: +${s.add}` : `< ${value}: -${s.remove}`}`;
    out.push({ rule: 'step', text, metric: s.metric, value, agg: s.agg });
  }
  return out;
}

function round(hours: number): number {
  return Math.round(hours * 1000) / 1000;
}
