import type { AgentTunables } from './config/tunables.ts';
import type { Duration } from './duration.ts';

/**
 * What a user writes in clouds.ts. `definePool` only exists for types (like `defineConfig`):
 * validation, defaults and unit conversion happen in `loadPool` (shared/config/load.ts).
 */

/** Options of the local provider: every instance is an agent process on this machine. */
export interface LocalOptions {
  /**
   * First loopback address handed to an instance; each instance gets its own address scanning
   * upward from here, so each has its own monitor on the same port like a real machine.
   * Default '127.0.0.2'.
   */
  firstAddress?: string;
  /** libp2p TCP port of every instance. Default 8643. */
  p2pPort?: number;
  /** Monitor port of every instance. Default: the cloud's `monitor.port`, else 8642. */
  monitorPort?: number;
}

export interface LocalUsing extends LocalOptions {
  provider: 'local';
}

/** Where a cloud's instances come from: a discriminated union on `provider` (ec2 and ssh come later). */
export type UsingInput = LocalUsing;

interface MetricTiming {
  /** How often the metric is sampled. Default '5s'. */
  every?: Duration;
  /** A sample taking longer than this fails (value null, error shown in /stats). Default '2s'. */
  timeout?: Duration;
}

/** A custom metric: a shell command printing a number, a file holding one, or an HTTP JSON endpoint. */
export type MetricInput =
  | ({ command: string } & MetricTiming)
  | ({ file: string } & MetricTiming)
  | ({ http: string /** Dotted path into the JSON body, e.g. 'queue.depth'. */; path?: string } & MetricTiming);

type CountTunable = 'maxConnections' | 'minConnections' | 'maxMessageBytes';

/** Agent tunables (see shared/config/tunables.ts); durations as ms numbers or strings like '1s'. */
export type TunablesInput = { [K in keyof AgentTunables]?: K extends CountTunable ? number : Duration };

export interface CloudInput {
  /** Bounds of the instance count; the pool is bootstrapped with `min`. */
  instances: { min: number; max: number };
  using: UsingInput;
  /** Custom metrics by name (identifiers; load, cpu and mem are built in). */
  metrics?: Record<string, MetricInput>;
  agent?: TunablesInput;
  /** Where each agent serves its monitor. Defaults: host '0.0.0.0', port 8642. */
  monitor?: { host?: string; port?: number };
}

export interface PoolInput {
  /** Pool name: lowercase letters, digits and '-', at most 32 characters. */
  name: string;
  /**
   * Where the CLI keeps the pool key and provider state. Default ~/.poolparty/<name>;
   * env POOLPARTY_STATE_DIR overrides it, and the CLI's --state-dir overrides both.
   * A relative path is relative to the config file.
   */
  stateDir?: string;
  clouds: Record<string, CloudInput>;
}

/** Identity function: gives a clouds.ts file its types. */
export function definePool<const T extends PoolInput>(def: T): T {
  return def;
}

/** The local provider: instances are agent processes on this machine, one loopback address each. */
export function local(opts: LocalOptions = {}): LocalUsing {
  return { provider: 'local', ...opts };
}
