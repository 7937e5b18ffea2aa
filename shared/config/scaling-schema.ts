import * as z from 'zod';
import { SCALING_DEFAULTS, type ScalingConfig } from '../scaling/config.ts';
import { durationSchema as duration } from './duration-schema.ts';

/** Default timeout of a `beforeTerminate` hook given without one (ms). */
export const BEFORE_TERMINATE_TIMEOUT = 30_000;
/** Shortest rule evaluation interval (ms): a tighter loop only burns CPU on every node. */
export const MIN_SCALING_INTERVAL = 100;

const count = z.number().int().min(1);
const ruleText = z.string().min(1).nullable().optional();

/**
 * A cloud's scaling block: as written in clouds.ts (any subset, durations as ms or '1s') and as
 * carried in an agent config (complete, in ms), both read into a ScalingConfig with every default
 * of SCALING_DEFAULTS applied. Rules are checked by the caller, which knows the cloud's metrics.
 */
export const scalingSchema = z
  .strictObject({
    expandWhen: ruleText,
    contractWhen: ruleText,
    expandBy: count.optional(),
    contractBy: count.optional(),
    cooldown: z.strictObject({ expand: duration().optional(), contract: duration().optional() }).optional(),
    minimumRuntime: duration().optional(),
    victim: z.enum(['least-loaded', 'newest', 'oldest']).optional(),
    joinTimeout: duration(1).optional(),
    interval: duration(MIN_SCALING_INTERVAL).optional(),
    drainTimeout: duration().optional(),
    intentTimeout: duration(1).optional(),
    deadGrace: duration().optional(),
    // null: none (how a resolved config says it).
    beforeTerminate: z
      .strictObject({ command: z.string().min(1), timeout: duration(1).optional() })
      .nullable()
      .optional(),
  })
  .transform((s): ScalingConfig => {
    const d = SCALING_DEFAULTS;
    return {
      expandWhen: s.expandWhen ?? d.expandWhen,
      contractWhen: s.contractWhen ?? d.contractWhen,
      expandBy: s.expandBy ?? d.expandBy,
      contractBy: s.contractBy ?? d.contractBy,
      cooldown: {
        expand: s.cooldown?.expand ?? d.cooldown.expand,
        contract: s.cooldown?.contract ?? d.cooldown.contract,
      },
      minimumRuntime: s.minimumRuntime ?? d.minimumRuntime,
      victim: s.victim ?? d.victim,
      joinTimeout: s.joinTimeout ?? d.joinTimeout,
      interval: s.interval ?? d.interval,
      drainTimeout: s.drainTimeout ?? d.drainTimeout,
      intentTimeout: s.intentTimeout ?? d.intentTimeout,
      deadGrace: s.deadGrace ?? d.deadGrace,
      beforeTerminate: s.beforeTerminate
        ? { command: s.beforeTerminate.command, timeout: s.beforeTerminate.timeout ?? BEFORE_TERMINATE_TIMEOUT }
        : d.beforeTerminate,
    };
  });

/** A copy of the defaults: each cloud owns its object, nothing shares SCALING_DEFAULTS. */
export function defaultScaling(): ScalingConfig {
  return structuredClone(SCALING_DEFAULTS);
}
