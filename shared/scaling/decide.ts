import type { Evaluation } from './evaluate.ts';
import type { PolicyVerdict } from './policies/verdict.ts';
import type { SustainState } from './sustain.ts';

/**
 * What the leader should do now: a pure function of the counted instances, the bounds, what each
 * policy asks for, cooldowns and in-flight work. Policies combine as "the largest desired size
 * wins for scale-out, all must agree for scale-in" (then by the most cautious of them). Every
 * outcome, including "nothing", carries a reason so an operator can answer "why did (or didn't)
 * it scale?", and names the policy that decided.
 */

export type ScaleAction = 'expand' | 'contract' | 'none';

export interface RuleStatus {
  evaluation: Evaluation | null;
  sustain: SustainState;
}

interface Common {
  now: number;
  /** Instances of the cloud counted from the provider (running + pending) plus unconfirmed launches. */
  count: number;
  min: number;
  max: number;
  /** Epoch ms of the last expansion / contraction anywhere in the pool (from outcomes seen). */
  lastExpandAt: number | null;
  lastContractAt: number | null;
  cooldown: { expand: number; contract: number };
  /** An earlier action (ours or a dead leader's) whose outcome is not known yet. */
  inFlight: { action: 'expand' | 'contract'; token: string } | null;
}

/** The threshold rules' input, as the scaler had it before policies (kept for its tests). */
export interface PolicyInput extends Common {
  expandBy: number;
  contractBy: number;
  expand: RuleStatus;
  contract: RuleStatus;
}

export interface SettleInput extends Common {
  verdicts: readonly PolicyVerdict[];
  /** Why nothing is asked for, when nothing is. */
  idle: string;
  /** Which policy set the bounds in force: 'bounds' (instances.min/max) or 'schedule'. */
  boundsBy?: string;
}

export interface PolicyDecision {
  action: ScaleAction;
  count: number;
  reason: string;
  /** Set when a policy or bound asked for an action that something prevented. */
  blocked?: 'in-flight' | 'at-max' | 'at-min' | 'cooldown';
  /** The policy whose verdict decided, when one did. */
  policy?: string;
}

/** The threshold rules alone: each sustained rule is a verdict of count ± its step. */
export function decide(i: PolicyInput): PolicyDecision {
  return settle({ ...i, verdicts: ruleVerdicts(i), idle: ruleIdle(i.expand, i.contract) });
}

/** The verdicts of the expand and contract rules (only of those configured, when `configured` says). */
export function ruleVerdicts(
  i: Pick<PolicyInput, 'count' | 'expandBy' | 'contractBy' | 'expand' | 'contract'>,
  configured = { expand: true, contract: true },
): PolicyVerdict[] {
  const out: PolicyVerdict[] = [];
  const { expand, contract } = i;
  if (configured.expand)
    out.push({
      policy: 'expandWhen',
      desired: expand.sustain.satisfied ? i.count + i.expandBy : null,
      why: ruleWhy('expand', expand),
    });
  // An unsustained contract rule holds the size: scale-in needs every policy's agreement.
  if (configured.contract)
    out.push({
      policy: 'contractWhen',
      desired: contract.sustain.satisfied ? Math.max(0, i.count - i.contractBy) : i.count,
      why: ruleWhy('contract', contract),
    });
  return out;
}

/** Why neither rule acts: which are holding but not yet sustained, or that none holds. */
export function ruleIdle(expand: RuleStatus, contract: RuleStatus): string {
  const holding = [
    expand.sustain.since !== null ? `expand rule holding for ${seconds(expand.sustain.heldForMs)}` : '',
    contract.sustain.since !== null ? `contract rule holding for ${seconds(contract.sustain.heldForMs)}` : '',
  ].filter(Boolean);
  return holding.length ? `${holding.join('; ')} (not yet sustained)` : 'no rule holds';
}

export function settle(i: SettleInput): PolicyDecision {
  if (i.inFlight) {
    return none(`waiting for ${i.inFlight.action} ${i.inFlight.token} to complete`, 'in-flight');
  }
  const by = i.boundsBy ?? 'bounds';
  // Bounds are hard and ignore load and cooldowns: below min is self-healing after a death.
  if (i.count < i.min) {
    const count = Math.min(i.min, i.max) - i.count;
    return { action: 'expand', count, reason: `below min: ${i.count} < ${i.min}`, policy: by };
  }
  if (i.count > i.max) {
    return { action: 'contract', count: i.count - i.max, reason: `above max: ${i.count} > ${i.max}`, policy: by };
  }
  const voters = i.verdicts.filter((v): v is PolicyVerdict & { desired: number } => v.desired !== null);
  const winner = voters.reduce<(typeof voters)[number] | null>((a, v) => (!a || v.desired > a.desired ? v : a), null);
  if (winner && winner.desired > i.count) {
    const why = winner.why;
    if (i.count >= i.max) return none(`${why}, but at max (${i.max})`, 'at-max', winner.policy);
    const wait = remaining(i.lastExpandAt, i.cooldown.expand, i.now);
    if (wait > 0) return none(`${why}, but expand cooldown has ${seconds(wait)} left`, 'cooldown', winner.policy);
    const count = Math.min(winner.desired - i.count, i.max - i.count);
    return { action: 'expand', count, reason: why, policy: winner.policy };
  }
  // The largest desired size below the count: every policy with an opinion agrees to shrink.
  if (winner && winner.desired < i.count) {
    const why = winner.why;
    if (i.count <= i.min) return none(`${why}, but at min (${i.min})`, 'at-min', winner.policy);
    const wait = remaining(i.lastContractAt, i.cooldown.contract, i.now);
    if (wait > 0) return none(`${why}, but contract cooldown has ${seconds(wait)} left`, 'cooldown', winner.policy);
    const count = Math.min(i.count - winner.desired, i.count - i.min);
    return { action: 'contract', count, reason: why, policy: winner.policy };
  }
  return none(i.idle);
}

function ruleWhy(kind: 'expand' | 'contract', s: RuleStatus): string {
  if (s.sustain.satisfied) return `${kind} rule held for ${seconds(s.sustain.heldForMs)}`;
  if (s.sustain.since !== null) return `${kind} rule holding for ${seconds(s.sustain.heldForMs)} (not yet sustained)`;
  return `${kind} rule does not hold`;
}

function none(reason: string, blocked?: PolicyDecision['blocked'], policy?: string): PolicyDecision {
  const d: PolicyDecision = { action: 'none', count: 0, reason };
  if (blocked) d.blocked = blocked;
  if (policy) d.policy = policy;
  return d;
}

function remaining(last: number | null, cooldown: number, now: number): number {
  return last === null ? 0 : Math.max(0, last + cooldown - now);
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
}
