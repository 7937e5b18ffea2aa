import type { BundleReport, BundleState } from './heartbeat.ts';
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
  /** How old `metrics` are (ms): stale metrics never drive a scaling decision. Absent: unknown (fresh). */
  metricsAgeMs?: number;
  /** The member's configuration as its heartbeat reports it (absent: none applied or pending). */
  bundle?: MemberBundleView;
}

export interface MemberBundleView {
  /** sha256 of the bundle applied successfully, or null. */
  applied: string | null;
  /** sha256 of the bundle being fetched/applied or that failed, when one is. */
  target?: string;
  state?: BundleState;
  report?: BundleReport;
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
  /** The agent version it runs (an upgraded artifact's signed manifest, else the version built in). */
  version?: string;
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

/** Leadership changes as seen by this agent. */
export type LeaderEvent =
  | {
      type: 'leader-elected';
      peerId: string;
      term: number;
      at: number;
      self: boolean;
      /**
       * The election rule that made this agent claim (self) or follow: no-leader-heard (no claim
       * for claimDelay, it is the oldest: a first election or a failover), leader-dead (the leader
       * it followed is gone, it follows the best claim), leader-claims (it follows the best claim),
       * higher-term-seen (a re-bid above a better claim, or its leader's re-bid), contested (a
       * claim above a contested term), lease-expired / older-claim / retiring (it led and
       * yielded). Absent from agents older than 2026-12-06.
       */
      reason?:
        | 'no-leader-heard'
        | 'leader-dead'
        | 'leader-claims'
        | 'higher-term-seen'
        | 'contested'
        | 'lease-expired'
        | 'older-claim'
        | 'retiring';
    }
  | { type: 'leader-lost'; peerId: string; term: number; at: number }
  | { type: 'leader-stepped-down'; peerId: string; term: number; at: number; reason: string };

/** GET /leader */
export interface LeaderDetail {
  peerId: string;
  term: number;
  /** Epoch ms since which this agent has followed (or been) this leader. */
  since: number;
}

/** One decision of the leader's scaler (GET /scaling lists the last 50). */
export interface ScalingDecision {
  at: number;
  term: number;
  cloud: string;
  action: 'expand' | 'contract' | 'replace' | 'none';
  count: number;
  reason: string;
  blocked?: string;
  /** The policy whose verdict decided (expandWhen, contractWhen, target, steps, schedule, bounds). */
  policy?: string;
  /** What every configured policy asked for at this decision, and why (desired null: no opinion). */
  policies?: Array<{ policy: string; desired: number | null; why: string }>;
  /** Instances counted (provider running + pending, plus launches not listed yet). */
  instances: number;
  token?: string;
  targets?: string[];
  result?: 'ok' | 'failed';
  error?: string;
}

export type ScalingEvent =
  | ({ type: 'scaling-decision' } & ScalingDecision)
  | { type: 'retiring'; peerId: string; instanceId: string; term: number; at: number; reason: string };

/** Configuration bundle events (this node applying, and the leader's rollout). */
export type BundleEvent =
  | { type: 'bundle-applied'; peerId: string; sha: string; resolver: string | null; durationMs: number; at: number }
  | { type: 'bundle-failed'; peerId: string; sha: string; stage: string; error: string; at: number }
  | { type: 'rollout-started'; sha: string; maxUnavailable: number; at: number }
  | { type: 'rollout-halted'; sha: string; reason: string; at: number }
  | { type: 'rollout-complete'; sha: string; members: number; at: number };

/**
 * The leader's agent upgrade rollout (agent/upgrade/leader.ts, docs/upgrade.md): started (or
 * continued by a new leader: resumed), each member's phase as it changes, halted, complete.
 */
export type UpgradeEvent =
  | {
      type: 'upgrade-started';
      sha: string;
      version: string;
      members: number;
      resumed: boolean;
      /** Why, when it is not a push: 'catch-up of launched members' (agent/upgrade/catch-up.ts). */
      reason?: string;
      at: number;
    }
  | {
      type: 'upgrade-progress';
      sha: string;
      version: string;
      peerId: string;
      instanceId: string;
      phase: 'pending' | 'staged' | 'restarting' | 'done' | 'failed';
      error?: string;
      at: number;
    }
  | {
      type: 'upgrade-halted';
      sha: string;
      version: string;
      peerId: string;
      instanceId: string;
      reason: string;
      at: number;
    }
  | { type: 'upgrade-complete'; sha: string; version: string; members: number; at: number };

export type PoolEvent = MemberEvent | LeaderEvent | ScalingEvent | BundleEvent | UpgradeEvent;

/** One sample of the pool as an agent sees it, for the live page (GET /history, SSE `pool-sample`). */
export interface PoolSample {
  at: number;
  leader: LeaderView | null;
  /** Members by state per cloud, with the cloud's bounds and the leader's count when known. */
  clouds: Record<
    string,
    { alive: number; suspect: number; dead: number; min: number | null; max: number | null; counted: number | null }
  >;
  /** Every term of every scaling rule: the aggregate, its threshold, and how long the rule has held (ms). */
  rules: {
    cloud: string;
    rule: 'expand' | 'contract';
    term: string;
    value: number | null;
    threshold: number;
    holds: boolean;
    heldMs: number;
  }[];
}

/** What GET /events streams: pool events, and a `pool-sample` every few seconds for the live page. */
export type MonitorEvent = PoolEvent | ({ type: 'pool-sample' } & PoolSample);

/** The bundle fields of a heartbeat as a member view shows them (nothing when it has none). */
export function memberBundleField(hb: {
  bundle?: string;
  bundleTarget?: string;
  bundleState?: BundleState;
  bundleReport?: BundleReport;
}): { bundle?: MemberBundleView } {
  if (!hb.bundle && !hb.bundleTarget) return {};
  return {
    bundle: {
      applied: hb.bundle ?? null,
      ...(hb.bundleTarget ? { target: hb.bundleTarget } : {}),
      ...(hb.bundleState ? { state: hb.bundleState } : {}),
      ...(hb.bundleReport ? { report: hb.bundleReport } : {}),
    },
  };
}
