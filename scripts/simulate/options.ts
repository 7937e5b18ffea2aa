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
  /** Nodes whose event loop runs late (simulate/late.ts) from a time in the fault window. Default 0. */
  late?: number;
  /** How late, on average, a late node's timers run, in ms. Default 800. */
  lateMs?: number;
  /** For how long a late node runs late, in s. Default 20. */
  lateSeconds?: number;
  /**
   * Joiners' own announcements reach nobody, as in a startup storm (gossipsub has no mesh for a
   * joiner yet and does not replay): only the core's own paths (its join sync, anti-entropy) can
   * spread it. Default false (each joiner is linked into the mesh at once).
   */
  unannounced?: boolean;
  config?: Partial<SwimConfig>;
}
