import type { Evaluation } from './evaluate.ts';
import type { SustainState } from './sustain.ts';

/**
 * What the leader should do now: a pure function of the counted instances, the bounds, the
 * rules' sustained state, cooldowns and in-flight work. Every outcome, including "nothing",
 * carries a reason so an operator can answer "why did (or didn't) it scale?".
 */

export type ScaleAction = 'expand' | 'contract' | 'none';

export interface RuleStatus {
  evaluation: Evaluation | null;
  sustain: SustainState;
}

export interface PolicyInput {
  now: number;
  /** Instances of the cloud counted from the provider (running + pending) plus unconfirmed launches. */
  count: number;
  min: number;
  max: number;
  expandBy: number;
  contractBy: number;
  expand: RuleStatus;
  contract: RuleStatus;
  /** Epoch ms of the last expansion / contraction anywhere in the pool (from outcomes seen). */
  lastExpandAt: number | null;
  lastContractAt: number | null;
  cooldown: { expand: number; contract: number };
  /** An earlier action (ours or a dead leader's) whose outcome is not known yet. */
  inFlight: { action: 'expand' | 'contract'; token: string } | null;
}

export interface PolicyDecision {
  action: ScaleAction;
  count: number;
  reason: string;
  /** Set when a rule or bound asked for an action that something prevented. */
  blocked?: 'in-flight' | 'at-max' | 'at-min' | 'cooldown';
}

export function decide(i: PolicyInput): PolicyDecision {
  if (i.inFlight) {
    return none(`waiting for ${i.inFlight.action} ${i.inFlight.token} to complete`, 'in-flight');
  }
  // Bounds are hard and ignore load and cooldowns: below min is self-healing after a death.
  if (i.count < i.min) {
    return { action: 'expand', count: Math.min(i.min, i.max) - i.count, reason: `below min: ${i.count} < ${i.min}` };
  }
  if (i.count > i.max) {
    return { action: 'contract', count: i.count - i.max, reason: `above max: ${i.count} > ${i.max}` };
  }
  if (i.expand.sustain.satisfied) {
    const why = `expand rule held for ${seconds(i.expand.sustain.heldForMs)}`;
    if (i.count >= i.max) return none(`${why}, but at max (${i.max})`, 'at-max');
    const wait = remaining(i.lastExpandAt, i.cooldown.expand, i.now);
    if (wait > 0) return none(`${why}, but expand cooldown has ${seconds(wait)} left`, 'cooldown');
    return { action: 'expand', count: Math.min(i.expandBy, i.max - i.count), reason: why };
  }
  if (i.contract.sustain.satisfied) {
    const why = `contract rule held for ${seconds(i.contract.sustain.heldForMs)}`;
    if (i.count <= i.min) return none(`${why}, but at min (${i.min})`, 'at-min');
    const wait = remaining(i.lastContractAt, i.cooldown.contract, i.now);
    if (wait > 0) return none(`${why}, but contract cooldown has ${seconds(wait)} left`, 'cooldown');
    return { action: 'contract', count: Math.min(i.contractBy, i.count - i.min), reason: why };
  }
  const holding = [
    i.expand.sustain.since !== null ? `expand rule holding for ${seconds(i.expand.sustain.heldForMs)}` : '',
    i.contract.sustain.since !== null ? `contract rule holding for ${seconds(i.contract.sustain.heldForMs)}` : '',
  ].filter(Boolean);
  return none(holding.length ? `${holding.join('; ')} (not yet sustained)` : 'no rule holds');
}

function none(reason: string, blocked?: PolicyDecision['blocked']): PolicyDecision {
  return blocked ? { action: 'none', count: 0, reason, blocked } : { action: 'none', count: 0, reason };
}

function remaining(last: number | null, cooldown: number, now: number): number {
  return last === null ? 0 : Math.max(0, last + cooldown - now);
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
}
