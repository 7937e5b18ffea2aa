import type { PoolDefinition } from '../config/schema.ts';

/**
 * The remoter base: one interface for every provider (local processes, EC2, static SSH hosts).
 * A remoter is created for one pool and one cloud of it; the provider is the source of truth for
 * instance counts, so callers list() before they act.
 */

/** Where a remoter base launches and what every instance it launches is handed. */
export interface LaunchContext {
  pool: PoolDefinition;
  /** The cloud launched into. */
  cloud: string;
  /** The pool's state dir (holds pool.key on the laptop). */
  stateDir: string;
  /**
   * The pool key new instances get. Default <stateDir>/pool.key (the laptop's); an agent must pass
   * its own config's poolKeyFile, or the remoter would create a new key nobody else has.
   */
  poolKeyFile?: string;
  /**
   * Multiaddrs new instances dial first (ec2; local computes its own). Default: the pool's oldest
   * live instances as the provider lists them, `/ip4/<private ip>/tcp/<p2pPort>` without a peer
   * id (libp2p dials a bare address). A first launch into an empty pool gets none.
   */
  bootstrap?: string[] | (() => string[] | Promise<string[]>);
  /** The config bundle new instances apply at first boot (their agent config's bundle.sha256). */
  bundleHash?: string | (() => string | undefined | Promise<string | undefined>);
}

export type InstanceState = 'pending' | 'running' | 'stopping' | 'terminated';

export interface InstanceRecord {
  /** Provider id: 'local-3', 'i-0abc…', a host name. */
  id: string;
  state: InstanceState;
  privateIp?: string;
  publicIp?: string;
  /** Epoch ms. */
  launchedAt: number;
  /** Provider tags; always includes poolparty:pool and poolparty:cloud. */
  tags: Record<string, string>;
  /** The instance's monitor URL when known. */
  monitor?: string;
}

export interface LaunchRequest {
  cloud: string;
  count: number;
  /**
   * Idempotency token: a launch with a token the provider has seen returns the instances of
   * that earlier launch instead of starting new ones.
   */
  clientToken: string;
  /**
   * Extra tags stored on every launched instance and returned by list (e.g. the leader's
   * poolparty:term and poolparty:action). The provider's own tags (pool, cloud, token) win.
   */
  tags?: Record<string, string>;
}

export interface ListFilter {
  pool: string;
  cloud?: string;
}

/** What `reconcile` found and did; every entry is an instance id (local strays: 'local-N (pid P)'). */
export interface ReconcileReport {
  /** Launches cut short whose instance does run: recorded as running now (ec2: everything listed). */
  adopted: string[];
  /** Launches cut short with nothing running: recorded as terminated, their ids never used again. */
  cleared: string[];
  /** Instances of the pool that no record names, terminated. */
  strays: string[];
}

export interface RemoterBase {
  readonly provider: string;
  /**
   * Launches are write-ahead: the intended instances (ids, token) are recorded durably before
   * they are created, so a launcher killed at any point leaves a record, never an unnamed
   * instance. A launch with a token seen before returns that launch's instances while any lives.
   */
  launch(req: LaunchRequest): Promise<InstanceRecord[]>;
  list(filter: ListFilter): Promise<InstanceRecord[]>;
  terminate(ids: string[]): Promise<void>;
  /**
   * Settles what a launcher that died left behind, for the pool (and cloud) of `filter`: records of
   * cut-short launches are adopted (their instance runs) or cleared (it does not), and instances of
   * the pool no record names are terminated. A new leader calls it once before it first acts.
   * Optional only so that wrappers and test fakes written before it still type-check.
   */
  reconcile?(filter: ListFilter): Promise<ReconcileReport>;
}

/** Tag names every provider sets on the instances it launches. */
export const TAG_POOL = 'poolparty:pool';
export const TAG_CLOUD = 'poolparty:cloud';
export const TAG_TOKEN = 'poolparty:token';

export class RemoterError extends Error {
  override name = 'RemoterError';
}
