import type { ScalingConfig } from './config.ts';
import { type PolicyDecision, ruleIdle, ruleVerdicts, settle } from './decide.ts';
import { aggregate, metricValues } from './evaluate.ts';
import { scheduledBounds } from './policies/schedule.ts';
import { stepsVerdict } from './policies/steps.ts';
import { type Recommendation, targetVerdict } from './policies/target.ts';
import type { PolicyVerdict } from './policies/verdict.ts';
import type { Aggregate } from './rule.ts';
import { observeRules, type RuleStatuses, type RuleTimers } from './rule-status.ts';
import { type Counted, countedMetrics, type SampledMember } from './samples.ts';

/**
 * The whole scaling decision of one cloud at one instant, as one pure function: the live scaler
 * (agent/scaler/scaler.ts) and `poolparty simulate` both call stepScaling, so a trace replayed
 * through the simulator takes the decisions the pool would. No clock, no sockets: the caller
 * passes `now` and keeps the returned state for the next step.
 */

export type { PolicyVerdict } from './policies/verdict.ts';
export type { MetricSample } from './samples.ts';

/** An alive member of the cloud, as the scaler sees it. */
export interface StepMember extends SampledMember {
  /** Instance id. */
  id: string;
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

export interface StepDecision extends PolicyDecision {
  /** Every configured policy's verdict, whichever won. */
  policies: PolicyVerdict[];
}

/** Everything a step carries to the next: plain data, so it can be kept, logged or compared. */
export interface ScalingState {
  /** When each threshold rule's current run began. */
  rules: RuleTimers;
  /** Target tracking's recent recommendations, for its stabilization windows. */
  target: Recommendation[];
}

export interface StepResult {
  state: ScalingState;
  decision: StepDecision;
  /** The rules as evaluated at this step, for GET /scaling. */
  rules: RuleStatuses;
  /** The bounds in force (instances.min/max, or a schedule window's). */
  bounds: { min: number; max: number };
  /** Whose metrics counted: members warming up and stale samples were left out. */
  counted: Omit<Counted, 'maps'>;
}

export function initialScalingState(): ScalingState {
  return { rules: { expand: null, contract: null }, target: [] };
}

export function stepScaling(state: ScalingState, input: StepInput): StepResult {
  const { config, now } = input;
  const counted = countedMetrics(input.members, now, config);
  const { maps } = counted;
  const observed = observeRules(config, state.rules, maps, now);
  // A follower counts nothing; its target history is kept warm on the members it sees.
  const size = input.count ?? input.members.length;
  const valueFor = (metric: string, agg: Aggregate) => aggregate(agg, metricValues(maps, metric), maps.length);

  const verdicts = ruleVerdicts(
    { count: size, expandBy: config.expandBy, contractBy: config.contractBy, ...observed.status },
    { expand: config.expandWhen !== null, contract: config.contractWhen !== null },
  );
  let target = state.target;
  if (config.target) {
    const t = targetVerdict(config.target, valueFor(config.target.metric, config.target.agg), size, target, now);
    verdicts.push(t.verdict);
    target = t.history;
  }
  const steps = stepsVerdict(config.steps, valueFor, size);
  if (steps) verdicts.push(steps);
  const scheduled = scheduledBounds(config.schedule, input.bounds, size, now);
  if (scheduled.verdict) verdicts.push(scheduled.verdict);

  const next: ScalingState = { rules: observed.timers, target };
  const base = { state: next, rules: observed.status, bounds: scheduled.bounds, counted: omitMaps(counted) };
  if (input.count === null) {
    return { ...base, decision: { action: 'none', count: 0, reason: 'not counting', policies: verdicts } };
  }
  const decision = settle({
    now,
    count: input.count,
    min: scheduled.bounds.min,
    max: scheduled.bounds.max,
    boundsBy: scheduled.active ? 'schedule' : 'bounds',
    verdicts: verdicts.filter((v) => v.policy !== 'schedule'),
    idle: idleReason(config, observed.status, verdicts, counted),
    lastExpandAt: input.lastExpandAt,
    lastContractAt: input.lastContractAt,
    cooldown: config.cooldown,
    inFlight: input.inFlight,
  });
  return { ...base, decision: { ...decision, policies: verdicts } };
}

/** Why nothing happens: the rules' state as before, then each other policy's own words. */
function idleReason(config: ScalingConfig, rules: RuleStatuses, verdicts: PolicyVerdict[], c: Counted): string {
  const others = verdicts.filter((v) => v.policy !== 'expandWhen' && v.policy !== 'contractWhen');
  const parts =
    config.expandWhen || config.contractWhen || others.length === 0 ? [ruleIdle(rules.expand, rules.contract)] : [];
  for (const v of others) parts.push(`${v.policy}: ${v.why}`);
  if (c.warming.length) parts.push(`${c.warming.length} warming up`);
  return parts.join('; ');
}

function omitMaps(c: Counted): Omit<Counted, 'maps'> {
  return { warming: c.warming, stale: c.stale };
}
