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
  /** Highest leadership term the sender has seen (0: none yet). */
  term?: number;
  /** Present when the sender claims leadership: the term it leads. */
  leads?: number;
  /** The sender is retiring (draining before termination) and will not lead. */
  retiring?: boolean;
  /** sha256 of the configuration bundle the sender has applied successfully. */
  bundle?: string;
  /** What the sender is doing with `bundleTarget`. */
  bundleState?: BundleState;
  /** sha256 of the bundle the sender is fetching or applying, or failed to apply. */
  bundleTarget?: string;
  /** The outcome of the sender's last apply (of `bundleTarget`, else of `bundle`). */
  bundleReport?: BundleReport;
  /** Leader only: the pool's desired bundle and which members may apply it now. */
  rollout?: RolloutAnnouncement;
}

export type BundleState = 'fetching' | 'applying' | 'ok' | 'failed';

/** The last apply in brief; GET /bundle on the member has each verifier's details. */
export interface BundleReport {
  ok: boolean;
  /** The resolver that ran (null when the apply stopped before one was chosen). */
  resolver: string | null;
  durationMs: number;
  verifiers: {
    passed: number;
    /** Names of the verifiers that failed. */
    failed: string[];
  };
}

export interface RolloutAnnouncement {
  /** sha256 of the desired bundle. */
  sha: string;
  /** The cloud it configures: members of other clouds ignore it. Absent: every member. */
  cloud?: string;
  /** At most maxUnavailable peer ids allowed to fetch and apply it now. */
  allowed: string[];
  maxUnavailable: number;
  /** Set when a member failed to apply it: no further member is allowed until a new rollout. */
  halted?: string;
  /** Epoch ms the rollout started (leader's clock). */
  startedAt: number;
}

/** Published once when an agent leaves gracefully (SIGTERM/SIGINT). */
export interface Leave {
  v: 1;
  type: 'leave';
  peerId: string;
  seq: number;
}

export function controlTopic(pool: string): string {
  return `poolparty/${pool}/control/1`;
}

/** Announced by the leader before it calls the provider. */
export interface Intent {
  v: 1;
  type: 'intent';
  peerId: string;
  seq: number;
  term: number;
  cloud: string;
  /** Action number within the term; with the term it derives the client token. */
  action: number;
  kind: 'expand' | 'contract' | 'replace';
  count: number;
  token: string;
  /** Instance ids the action targets (contractions, orphan terminations). */
  targets: string[];
  reason: string;
  at: number;
}

/** Announced by the leader after the provider answered. */
export interface Outcome {
  v: 1;
  type: 'outcome';
  peerId: string;
  seq: number;
  term: number;
  cloud: string;
  action: number;
  kind: 'expand' | 'contract' | 'replace';
  token: string;
  ok: boolean;
  instanceIds: string[];
  error?: string;
  at: number;
}

/** The leader asks one member to drain and leave before its instance is terminated. */
export interface Retire {
  v: 1;
  type: 'retire';
  peerId: string;
  seq: number;
  term: number;
  target: string;
  token: string;
  at: number;
}

export type HeartbeatTopicMessage = Heartbeat | Leave;
export type ControlMessage = Intent | Outcome | Retire;
export type WireMessage = HeartbeatTopicMessage | ControlMessage;
