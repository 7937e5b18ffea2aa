import type { SwimConfig } from '../../agent/membership/swim/config.ts';

/** What one run of the membership simulation (simulation.ts) models. */
export interface SimOptions {
  n: number;
  seconds: number;
  loss: number;
  latency: [number, number];
  seed: number;
  kill: number;
  stall: number;
  join: number;
  /** Nodes that hang for good (no refusal, just silence): the timeout-evidence path. */
  silent?: number;
  /**
   * Joiners' own announcements reach nobody, as in a startup storm (gossipsub has no mesh for a
   * joiner yet and does not replay): only the core's own paths (its join sync, anti-entropy) can
   * spread it. Default false (each joiner is linked into the mesh at once).
   */
  unannounced?: boolean;
  config?: Partial<SwimConfig>;
}
