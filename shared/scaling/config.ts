import { defaultScaling, type ScalingConfig } from '../config/scaling-schema.ts';

/**
 * The resolved `scaling` block of a cloud (durations in ms). Its fields, units and defaults are
 * defined once, by scalingSchema in shared/config/scaling-schema.ts; the config loader applies
 * them and the agent's scaler reads the result. Rule texts are validated at load and parsed again
 * by the agent.
 */
export type { ScalingConfig, VictimPolicy } from '../config/scaling-schema.ts';

/** Every default of the scaling block (frozen: take a copy, or defaultScaling(), to change one). */
export const SCALING_DEFAULTS: Readonly<ScalingConfig> = Object.freeze(defaultScaling());
