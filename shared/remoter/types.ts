/**
 * The remoter base: one interface for every provider (local processes, EC2, static SSH hosts).
 * A remoter is created for one pool and one cloud of it; the provider is the source of truth for
 * instance counts, so callers list() before they act.
 */

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

export interface RemoterBase {
  readonly provider: string;
  launch(req: LaunchRequest): Promise<InstanceRecord[]>;
  list(filter: ListFilter): Promise<InstanceRecord[]>;
  terminate(ids: string[]): Promise<void>;
}

/** Tag names every provider sets on the instances it launches. */
export const TAG_POOL = 'poolparty:pool';
export const TAG_CLOUD = 'poolparty:cloud';
export const TAG_TOKEN = 'poolparty:token';

export class RemoterError extends Error {
  override name = 'RemoterError';
}
