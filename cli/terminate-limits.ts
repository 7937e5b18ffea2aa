import * as z from 'zod';

/**
 * How long and how hard `terminate` tries, in one place with every unit and default: the fence
 * that tells leaders to stop (fence.ts) and the sweep that ends instances round after round
 * (commands/terminate.ts). Types are the schemas' outputs and the defaults tables the schemas
 * parsed from nothing, so a default is written once.
 */

const ms = z.number().int().min(0);
const count = z.number().int().min(1);

export const fenceOptionsSchema = z.strictObject({
  /** Listing the agents' addresses, and then telling them, each at most this (ms). Default 5000. */
  timeoutMs: ms.default(5000),
  /** One dial, each target in parallel (ms). Default 2000. */
  dialTimeoutMs: ms.default(2000),
  /** Reading one monitor's /cluster for more addresses (ms). Default 1500. */
  monitorTimeoutMs: ms.default(1500),
  /** How often the notice is published (count). Default 3: a copy lost to a mesh change is resent. */
  publishes: count.default(3),
  /** Pause between publishes (ms). Default 250. */
  publishEveryMs: ms.default(250),
});
export type FenceOptions = z.output<typeof fenceOptionsSchema>;
export const FENCE_DEFAULTS: Readonly<FenceOptions> = Object.freeze(fenceOptionsSchema.parse({}));

/**
 * A leader that was mid-launch when the sweep began may add an instance, and an agent the fence
 * could not reach may still heal the pool back towards `min`; every round ends everything
 * listed, so a second round normally finds nothing.
 */
export const sweepLimitsSchema = z.strictObject({
  /** Most rounds of end-then-list (count). Default 10. */
  rounds: count.default(10),
  /** No round starts after this long (ms). Default 60000. */
  timeoutMs: ms.default(60_000),
  /** Pause before listing again when a round left something (ms). Default 500. */
  pauseMs: ms.default(500),
});
export type SweepLimits = z.output<typeof sweepLimitsSchema>;
export const SWEEP_DEFAULTS: Readonly<SweepLimits> = Object.freeze(sweepLimitsSchema.parse({}));
