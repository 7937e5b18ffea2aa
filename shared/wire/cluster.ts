import type { MetricMap, MetricReading } from './metrics.ts';

/** Membership states. `removed` members are no longer listed. */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/** One member as shown by GET /cluster (self included). */
export interface MemberView {
  peerId: string;
  instanceId: string;
  cloud: string;
  state: MemberState;
  addrs: string[];
  monitor: string;
  /** Milliseconds since the last heartbeat from this member (0 for self). */
  lastSeenMs: number;
  /** Epoch ms at which the member's agent started. */
  startedAt: number;
  version: string;
  metrics: MetricMap;
}

export interface LeaderView {
  peerId: string;
  term: number;
}

/** GET /cluster */
export interface ClusterView {
  pool: string;
  self: string;
  leader: LeaderView | null;
  members: MemberView[];
}

/** GET /health */
export interface HealthView {
  status: 'ok';
  peerId: string;
  instanceId: string;
  uptimeS: number;
}

/** GET /stats */
export interface StatsView {
  peerId: string;
  instanceId: string;
  cloud: string;
  metrics: Record<string, MetricReading>;
}

/**
 * Membership events: a closed set, streamed on GET /events (SSE event name = `type`)
 * and logged. Coalesced so a flapping member does not flood subscribers.
 */
export type MemberEvent =
  | { type: 'member-joined'; peerId: string; instanceId: string; at: number }
  | { type: 'member-suspect'; peerId: string; instanceId: string; at: number }
  | { type: 'member-dead'; peerId: string; instanceId: string; at: number }
  | { type: 'member-left'; peerId: string; instanceId: string; at: number }
  | { type: 'member-recovered'; peerId: string; instanceId: string; at: number }
  | { type: 'member-removed'; peerId: string; instanceId: string; at: number };

export type PoolEvent = MemberEvent;
