import type { ScalingConfig } from '../config.ts';
import type { PolicyVerdict } from '../step.ts';

/** What a simulation runs: one cloud's bounds and scaling block, and how its instances behave. */
export interface SimulationSetup {
  /** The cloud's name, for reports. */
  cloud: string;
  bounds: { min: number; max: number };
  config: ScalingConfig;
  /** From the provider accepting a launch to the agent joining (ms). */
  launchTimeMs: number;
  /** From joining to having applied the bundle and passed its verifiers (ms). */
  applyTimeMs: number;
  /** Launches per decision at most (the provider's or the account's limit); null: no limit. */
  maxPerStep: number | null;
  /** Share of launches (0..1) whose instance never joins; drawn from `seed`. */
  failureRate: number;
  seed: number;
  /** Instances running when the trace begins; default `bounds.min`. */
  initial?: number;
  /**
   * How the trace's values answer to the pool's size. 'replay' (default): every member reports
   * what the trace recorded, however many run. 'spread': the values are per-member load recorded
   * with `traceInstances` members serving; the same work is spread over the ready members (a
   * member still applying its bundle serves nothing and reports 0), so adding instances lowers it.
   */
  load?: LoadModel;
  /** Members that served the trace's load, for 'spread'; default the members the trace names, else `initial`. */
  traceInstances?: number;
}

export type LoadModel = 'replay' | 'spread';
export const LOAD_MODELS: readonly LoadModel[] = ['replay', 'spread'];

/** One decision of the simulated leader, as the live scaler would record it. */
export interface SimDecision {
  /** Epoch ms (trace time). */
  at: number;
  action: 'expand' | 'contract' | 'replace' | 'none';
  count: number;
  reason: string;
  blocked?: string;
  /** Instances counted when it decided. */
  instances: number;
  targets?: string[];
  /** The policy whose verdict decided (expandWhen, target, steps, schedule, bounds…), when one did. */
  policy?: string;
  /** What each policy asked for (the step function's verdicts). */
  policies: PolicyVerdict[];
}

/** The instance count from one instant on (recorded when it changes). */
export interface CountPoint {
  at: number;
  /** Instances the provider lists (launching, joining or running). */
  instances: number;
  /** Members that are ready (bundle applied): the capacity actually serving. */
  ready: number;
}

/** What the rules saw from one instant on (recorded when it changes): each term's aggregate. */
export interface TermPoint {
  at: number;
  values: Record<string, number | null>;
}

/** A rule term's threshold, for charts. */
export interface Threshold {
  /** The threshold rule, or the policy (a target to hold, a step's threshold) it belongs to. */
  rule: 'expand' | 'contract' | 'target' | 'step';
  text: string;
  metric: string;
  value: number;
}

export interface SimSummary {
  evaluations: number;
  expands: number;
  contracts: number;
  replaces: number;
  /** Instances launched / terminated in total. */
  launched: number;
  terminated: number;
  peak: number;
  lowest: number;
  /** Instance count integrated over the trace (hours). */
  instanceHours: number;
  /** Time with the expand side asking for more than the ready members give, or below min (ms). */
  belowTargetMs: number;
  /** Time at max (ms). */
  atMaxMs: number;
  durationMs: number;
}

export interface SimulationResult {
  cloud: string;
  start: number;
  end: number;
  intervalMs: number;
  bounds: { min: number; max: number };
  decisions: SimDecision[];
  timeline: CountPoint[];
  terms: TermPoint[];
  thresholds: Threshold[];
  summary: SimSummary;
}
