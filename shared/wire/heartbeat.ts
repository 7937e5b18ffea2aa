import type { MetricMap } from './metrics.ts';

/** Wire format version carried in every message; a later format gets a new topic suffix and `v`. */
export const WIRE_VERSION = 1;

export function heartbeatTopic(pool: string): string {
  return `poolparty/${pool}/heartbeat/1`;
}

/** Published every heartbeatInterval by every agent. */
export interface Heartbeat {
  v: 1;
  type: 'heartbeat';
  peerId: string;
  instanceId: string;
  cloud: string;
  /** Multiaddrs the sender listens on (without /p2p suffix). */
  addrs: string[];
  /** URL of the sender's monitor. */
  monitor: string;
  /** Epoch ms at which the sender's agent started. */
  startedAt: number;
  /** Strictly increasing per sender (per start: seeded from the wall clock so restarts keep rising). */
  seq: number;
  /** Agent version. */
  version: string;
  metrics: MetricMap;
}

/** Published once when an agent leaves gracefully (SIGTERM/SIGINT). */
export interface Leave {
  v: 1;
  type: 'leave';
  peerId: string;
  seq: number;
}

export type WireMessage = Heartbeat | Leave;
