import * as z from 'zod';
import { durationSchema as duration } from './duration-schema.ts';
import { scheduleSchema, stepSchema, targetSchema } from './policy-schema.ts';

/** Default timeout of a `beforeTerminate` hook given without one (ms). */
export const BEFORE_TERMINATE_TIMEOUT = 30_000;
/** Shortest rule evaluation interval (ms): a tighter loop only burns CPU on every node. */
export const MIN_SCALING_INTERVAL = 100;

const count = z.number().int().min(1);
/** A rule's text; null: never on load. Checked by the caller, which knows the cloud's metrics. */
const ruleText = z.string().min(1).nullable().default(null);

/**
 * How a cloud's leader scales it: the `scaling` block as written in clouds.ts (any subset,
 * durations as ms or strings like '1m') and as carried in an agent config (complete, in ms), both
 * read into a ScalingConfig with every default below applied. Without the block the leader still
 * keeps the cloud within instances.min..max (it replaces dead instances).
 */
export const scalingSchema = z.strictObject({
  /**
   * Rule that makes the leader add instances, e.g. 'load > 0.8 for 30s', 'max(cpu) > 90 for 1m',
   * 'queue > 100 and load > 0.5 for 10s'. Metrics are averaged over the cloud's alive members
   * unless an aggregate (avg, min, max, sum, p50, p90, p99, permember) is given. Default null: never on load.
   */
  expandWhen: ruleText,
  /** Rule that makes the leader retire instances, e.g. 'load < 0.2 for 2m'. Default null: never on load. */
  contractWhen: ruleText,
  /** Instances added per expansion (count). Default 1. */
  expandBy: count.default(1),
  /** Instances retired per contraction (count). Default 1. */
  contractBy: count.default(1),
  /** Least time between two expansions / two contractions (ms). Defaults 60000 ('1m') / 180000 ('3m'). */
  cooldown: z.strictObject({ expand: duration().default(60_000), contract: duration().default(180_000) }).prefault({}),
  /** An instance younger than this is never retired by a contraction (ms). Default 600000 ('10m'). */
  minimumRuntime: duration().default(600_000),
  /**
   * Target tracking: keep a metric near a value, e.g. { metric: 'cpu', value: 60 }; see
   * policy-schema.ts for tolerance and stabilization. Default null: none.
   */
  target: targetSchema.nullable().default(null),
  /** Step scaling, e.g. [{ above: 0.7, add: 1 }, { above: 0.9, add: 3 }, { below: 0.2, remove: '10%' }]. Default []. */
  steps: z.array(stepSchema).default([]),
  /** Scheduled capacity, e.g. [{ cron: '0 8 * * 1-5', timezone: 'Europe/Berlin', min: 4, for: '10h' }]. Default []. */
  schedule: z.array(scheduleSchema).default([]),
  /** A member's metrics older than this never drive a decision (ms). Default 60000 ('1m'). */
  maxMetricAge: duration(1).default(60_000),
  /**
   * A member's metrics count once it has applied its bundle and passed its verifiers, or once it
   * has run this long, whichever comes first (ms). Default 0: from its first report.
   */
  warmup: duration().default(0),
  /** Which instance a contraction retires. Default 'least-loaded'. */
  victim: z.enum(['least-loaded', 'newest', 'oldest']).default('least-loaded'),
  /** A launched instance that has not joined the pool after this long is replaced (ms). Default 300000 ('5m'). */
  joinTimeout: duration(1).default(300_000),
  /** How often the leader evaluates the rules (ms, at least 100). Default 1000. */
  interval: duration(MIN_SCALING_INTERVAL).default(1000),
  /** How long a retiring instance may drain before it is terminated anyway (ms). Default 30000. */
  drainTimeout: duration().default(30_000),
  /**
   * An action announced by a leader that died before announcing its outcome blocks new actions of
   * the same kind for this long (ms), since its launch may still appear. Default 60000.
   */
  intentTimeout: duration(1).default(60_000),
  /** A dead member's instance is terminated this long after it was declared dead (ms). Default 30000. */
  deadGrace: duration().default(30_000),
  /**
   * A shell command a node runs before a contraction terminates it, and its timeout (ms, default
   * BEFORE_TERMINATE_TIMEOUT). Default null: none. Runs before the cloud's `hooks.beforeTerminate`
   * (which also run on a terminate that is not a contraction); prefer those in new definitions.
   */
  beforeTerminate: z
    .strictObject({ command: z.string().min(1), timeout: duration(1).default(BEFORE_TERMINATE_TIMEOUT) })
    .nullable()
    .default(null),
});

/** The resolved scaling block (durations in ms): what the agent's scaler reads. */
export type ScalingConfig = z.output<typeof scalingSchema>;
/** The scaling block as written in clouds.ts. */
export type ScalingInput = z.input<typeof scalingSchema>;
export type VictimPolicy = ScalingConfig['victim'];

/** Every default; a fresh object per call, so no cloud shares another's. */
export function defaultScaling(): ScalingConfig {
  return scalingSchema.parse({});
}
