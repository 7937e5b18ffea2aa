import type { ScalingConfig } from './config.ts';
import { decide, type PolicyDecision, seconds } from './decide.ts';
import { type MetricMaps, observeRules, type RuleStatuses, type RuleTimers } from './rule-status.ts';

/**
 * The whole scaling decision of one cloud at one instant, as one pure function: the live scaler
 * (agent/scaler/scaler.ts) and `poolparty simulate` both call stepScaling, so a trace replayed
 * through the simulator takes the decisions the pool would. No clock, no sockets: the caller
 * passes `now` and keeps the returned state for the next step.
 */

/** One sample of a member's metric: its value (null: the source failed) and when it was taken (epoch ms). */
export interface MetricSample {
  value: number | null;
  at: number;
}

/** An alive member of the cloud, as the scaler sees it. */
export interface StepMember {
  /** Instance id. */
  id: string;
  metrics: Readonly<Record<string, MetricSample>>;
  /** Epoch ms at which its agent started. */
  launchedAt: number;
  /** It has applied its configuration bundle and passed its verifiers. */
  ready: boolean;
}

export interface StepInput {
  now: number;
  /** The cloud's alive members. */
  members: readonly StepMember[];
  /**
   * Instances counted from the provider (running + pending, plus launches not listed yet); null
   * where nothing is counted (a node that does not lead): the timers advance and the decision is
   * 'none'.
   */
  count: number | null;
  /** The cloud's instances.min / instances.max. */
  bounds: { min: number; max: number };
  /** The cloud's resolved scaling block (durations in ms). */
  config: ScalingConfig;
  /** Epoch ms of the last expansion / contraction of this cloud (from outcomes seen). */
  lastExpandAt: number | null;
  lastContractAt: number | null;
  /** An earlier action (ours or a dead leader's) whose outcome is not known yet. */
  inFlight: { action: 'expand' | 'contract'; token: string } | null;
}

/** What one policy asked for at this step: the size it wants (null: no opinion) and why. */
export interface PolicyVerdict {
  policy: string;
  desired: number | null;
  why: string;
}

export interface StepDecision extends PolicyDecision {
  /** Every configured policy's verdict, whichever won. */
  policies: PolicyVerdict[];
}

/** Everything a step carries to the next: plain data, so it can be kept, logged or compared. */
export interface ScalingState {
  rules: RuleTimers;
}

export interface StepResult {
  state: ScalingState;
  decision: StepDecision;
  /** The rules as evaluated at this step, for GET /scaling. */
  rules: RuleStatuses;
}

export function initialScalingState(): ScalingState {
  return { rules: { expand: null, contract: null } };
}

export function stepScaling(state: ScalingState, input: StepInput): StepResult {
  const { config, now } = input;
  const metrics = metricMaps(input.members);
  const observed = observeRules(config, state.rules, metrics, now);
  const next: ScalingState = { rules: observed.timers };
  const policies = ruleVerdicts(observed.status, input.count, config);
  if (input.count === null) {
    return {
      state: next,
      rules: observed.status,
      decision: { action: 'none', count: 0, reason: 'not counting', policies },
    };
  }
  const decision = decide({
    now,
    count: input.count,
    min: input.bounds.min,
    max: input.bounds.max,
    expandBy: config.expandBy,
    contractBy: config.contractBy,
    expand: observed.status.expand,
    contract: observed.status.contract,
    lastExpandAt: input.lastExpandAt,
    lastContractAt: input.lastContractAt,
    cooldown: config.cooldown,
    inFlight: input.inFlight,
  });
  return { state: next, rules: observed.status, decision: { ...decision, policies } };
}

/** The rules' part of a decision: the size each sustained rule asks for. */
function ruleVerdicts(status: RuleStatuses, count: number | null, config: ScalingConfig): PolicyVerdict[] {
  const out: PolicyVerdict[] = [];
  const verdict = (policy: 'expandWhen' | 'contractWhen', s: RuleStatuses['expand'], step: number) => {
    if (config[policy] === null) return;
    const sustained = s.sustain.satisfied;
    const why = sustained
      ? `held for ${seconds(s.sustain.heldForMs)}`
      : s.sustain.since !== null
        ? `holding for ${seconds(s.sustain.heldForMs)} (not yet sustained)`
        : 'does not hold';
    out.push({ policy, desired: sustained && count !== null ? count + step : null, why });
  };
  verdict('expandWhen', status.expand, config.expandBy);
  verdict('contractWhen', status.contract, -config.contractBy);
  return out;
}

/** Each member's metric values as the rules read them. */
function metricMaps(members: readonly StepMember[]): MetricMaps {
  return members.map((m) => {
    // No prototype: a metric named __proto__ or constructor is just a metric.
    const map: Record<string, number | null> = Object.create(null);
    for (const [name, sample] of Object.entries(m.metrics)) map[name] = sample.value;
    return map;
  });
}
