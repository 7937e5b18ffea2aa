import type { Ec2Options, Ec2Using } from './config/ec2-schema.ts';
import type { SshUsing } from './config/ssh-input.ts';
import type { TunablesInput } from './config/tunables.ts';
import type { Duration } from './duration.ts';
import type { ConfigureInput } from './resources/configure-input.ts';
import type { VictimPolicy } from './scaling/config.ts';

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

/** Agent tunables (see shared/config/tunables.ts); durations as ms numbers or strings like '1s'. */
export type { TunablesInput };

/**
 * How the cloud's leader scales it (see shared/scaling/config.ts for every default). Without this
 * block the leader still keeps the cloud within instances.min..max (it replaces dead instances).
 */
export interface ScalingInput {
  /**
   * Rule that makes the leader add instances, e.g. 'load > 0.8 for 30s', 'max(cpu) > 90 for 1m',
   * 'queue > 100 and load > 0.5 for 10s'. Metrics are averaged over the cloud's alive members
   * unless an aggregate (avg, min, max, sum, p50, p90) is given. Default: never on load.
   */
  expandWhen?: string | null;
  /** Rule that makes the leader retire instances, e.g. 'load < 0.2 for 2m'. Default: never on load. */
  contractWhen?: string | null;
  /** Instances added per expansion. Default 1. */
  expandBy?: number;
  /** Instances retired per contraction. Default 1. */
  contractBy?: number;
  /** Minimum time between two expansions / two contractions. Defaults '1m' / '3m'. */
  cooldown?: { expand?: Duration; contract?: Duration };
  /** An instance younger than this is never retired by a contraction. Default '10m'. */
  minimumRuntime?: Duration;
  /** Which instance a contraction retires. Default 'least-loaded'. */
  victim?: VictimPolicy;
  /** A launched instance that has not joined the pool after this long is replaced. Default '5m'. */
  joinTimeout?: Duration;
  /** How often the rules are evaluated (at least 100ms). Default '1s'. */
  interval?: Duration;
  /** How long a retiring instance may drain before it is terminated anyway. Default '30s'. */
  drainTimeout?: Duration;
  /** How long an action announced by a leader that then died blocks new actions. Default '60s'. */
  intentTimeout?: Duration;
  /** How long after a member is declared dead its instance is replaced. Default '30s'. */
  deadGrace?: Duration;
  /**
   * A shell command a node runs before a contraction terminates it. Timeout default '30s'. Runs
   * before the cloud's `hooks.beforeTerminate` (which also run on a terminate that is not a
   * contraction); prefer `hooks.beforeTerminate` in new definitions.
   */
  beforeTerminate?: { command: string; timeout?: Duration };
}

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
