import type { Ec2Options, Ec2Using } from './config/ec2-schema.ts';
import type { ScalingInput } from './config/scaling-schema.ts';
import type { SshUsing } from './config/ssh-input.ts';
import type { TunablesInput } from './config/tunables.ts';
import type { Duration } from './duration.ts';
import type { ConfigureInput } from './resources/configure-input.ts';

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

/** Where a cloud's instances come from: a discriminated union on `provider`. */
export type UsingInput = LocalUsing | Ec2Using | SshUsing;

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

/**
 * Agent tunables (shared/config/tunables.ts) and the scaling block (shared/config/scaling-schema.ts),
 * each field documented there with its default; durations as ms numbers or strings like '1s'.
 */
export type { ScalingInput, TunablesInput };

/**
 * One cloud: how many instances, where they come from, what they gossip, how they scale, and
 * (ConfigureInput) what they are configured with: resources, resolver, verifiers, hooks.
 */
export interface CloudInput extends ConfigureInput {
  /** Bounds of the instance count; the pool is bootstrapped with `min`. */
  instances: { min: number; max: number };
  using: UsingInput;
  /**
   * Custom metrics by name (identifiers; load, cpu and mem are built in). A relative `file` is
   * relative to the pool's state dir (see PoolInput.stateDir), where the CLI can write it too.
   */
  metrics?: Record<string, MetricInput>;
  agent?: TunablesInput;
  /** Where each agent serves its monitor. Defaults: host '0.0.0.0', port 8642. */
  monitor?: { host?: string; port?: number };
  /** How the cloud's leader scales it; without it the leader still keeps instances.min..max. */
  scaling?: ScalingInput;
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

/**
 * The EC2 provider (see docs/ec2.md): instances launched with RunInstances, tagged with the pool
 * and cloud. Defined here rather than re-exported from ec2-schema.ts so that loading clouds.ts
 * never pulls in zod: that file only contributes types.
 */
export function ec2(opts: Ec2Options): Ec2Using {
  return { provider: 'ec2', ...opts };
}

/**
 * Static SSH hosts (see docs/ssh.md): `bootstrap` provisions the agent over SSH on machines you
 * already have. Lives in ssh-input.ts (zod-free) and is re-exported here with the other providers.
 */
export { ssh } from './config/ssh-input.ts';
