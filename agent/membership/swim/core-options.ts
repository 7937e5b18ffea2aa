import type { SwimConfig } from './config.ts';
import type { Roster } from './overlay.ts';

/** What a SwimCore (core.ts) starts from. */
export interface SwimCoreOptions {
  self: string;
  config: SwimConfig;
  /** Uniform in [0, 1); the only source of randomness. */
  rand: () => number;
  now: number;
  /** Our incarnation at start (a restarted agent may pass its last one). Default 0. */
  incarnation?: number;
  /** A shared initial table (copy-on-write); a roster listing us alive at our incarnation means we need no announcement. */
  roster?: Roster;
  /** Whether a member can be synced with (the shell holds its address). Default: all. */
  syncable?: (id: string) => boolean;
  /**
   * Members the shell holds a connection to. Most follow-up syncs go to one of them
   * (sync-schedule.ts): a sync with any other member costs both sides a handshake. Default: none
   * (every follow-up draws pool-wide).
   */
  connected?: () => Iterable<string>;
}
