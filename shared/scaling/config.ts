/**
 * The resolved `scaling` block of a cloud (durations in ms). The config loader fills defaults;
 * the agent's scaler reads it. Rule texts are validated at load and parsed again by the agent.
 */
export type VictimPolicy = 'least-loaded' | 'newest' | 'oldest';

export interface ScalingConfig {
  /** Rule that makes the leader expand, e.g. 'load > 0.8 for 30s'; null: never on load. */
  expandWhen: string | null;
  /** Rule that makes the leader contract, e.g. 'load < 0.2 for 2m'; null: never on load. */
  contractWhen: string | null;
  /** Instances added per expansion (count). Default 1. */
  expandBy: number;
  /** Instances removed per contraction (count). Default 1. */
  contractBy: number;
  /** Minimum time between two expansions / two contractions (ms). Defaults 60 s / 180 s. */
  cooldown: { expand: number; contract: number };
  /** A node younger than this is never a contraction victim (ms). Default 10 min. */
  minimumRuntime: number;
  /** Which node a contraction retires. Default 'least-loaded'. */
  victim: VictimPolicy;
  /** A launched instance that has not joined after this long is terminated (ms). Default 5 min. */
  joinTimeout: number;
  /** How often the leader evaluates the rules (ms). Default 1000. */
  interval: number;
  /** How long a retiring node may drain before it is terminated anyway (ms). Default 30 s. */
  drainTimeout: number;
  /**
   * An intent announced by a leader that died before announcing its outcome blocks new actions
   * of the same kind for this long (ms), since its launch may still appear. Default 60 s.
   */
  intentTimeout: number;
  /** A dead member's instance is terminated this long after it was declared dead (ms). Default 30 s. */
  deadGrace: number;
  /** Run by a node before it is terminated by a contraction (command and its timeout in ms). */
  beforeTerminate: { command: string; timeout: number } | null;
}

export const SCALING_DEFAULTS: ScalingConfig = {
  expandWhen: null,
  contractWhen: null,
  expandBy: 1,
  contractBy: 1,
  cooldown: { expand: 60_000, contract: 180_000 },
  minimumRuntime: 600_000,
  victim: 'least-loaded',
  joinTimeout: 300_000,
  interval: 1000,
  drainTimeout: 30_000,
  intentTimeout: 60_000,
  deadGrace: 30_000,
  beforeTerminate: null,
};
