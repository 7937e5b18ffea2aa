import type { MetricMap } from './metrics.ts';
import type { Update } from './swim.ts';

/** Wire format version carried in every message; a later format gets a new topic suffix and `v`. */
export const WIRE_VERSION = 2;

/** Member records and membership changes, published on change only. */
export function membersTopic(pool: string): string {
  return `poolparty/${pool}/members/${WIRE_VERSION}`;
}

/**
 * A member's record: who it is, where it listens, what it runs, what it claims. Published when a
 * field other than `metrics` changes (never on a beat); `seq` orders a member's records. Metrics
 * travel apart, at a bounded rate (load reports to the leader, the leader's summary).
 */
export interface Heartbeat {
  v: 2;
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
  /**
   * The evidence that binds this peer to its instance (agent/membership/binding.ts), bounded by
   * the codec. EC2 members: the instance identity document and its base64 signature as IMDS
   * served them; ssh members: the launcher certificate the CLI signed (launcher-certificate.ts).
   */
  identity?: IdentityEvidence;
  /**
   * The member's own Ed25519 signature (its peer id's key) over the record's other fields
   * (record-signature.ts `recordBody`): lets a record relayed in another member's sync table be
   * checked against its member. Absent from records of agents before session 21 (see I4).
   */
  sig?: Uint8Array;
}

export interface IdentityEvidence {
  document: string;
  signature: string;
}

/** Largest identity document and signature a record carries (real ones are ~0.5 kB and ~350 B). */
export const IDENTITY_LIMITS = { document: 4096, signature: 2048 } as const;

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

export function controlTopic(pool: string): string {
  return `poolparty/${pool}/control/${WIRE_VERSION}`;
}

/** What every message opens with: its signer and the signer's own order. */
interface Signed {
  v: 2;
  peerId: string;
  seq: number;
}

/** A leader's message: the term it speaks in and when (its clock, epoch ms). */
interface InTerm extends Signed {
  term: number;
  at: number;
}

/** A liveness change of the membership core (SWIM), signed by its originator. */
export interface MemberUpdate extends Signed {
  type: 'update';
  /** The signer is the member itself for alive/left, the accuser for suspect/dead. */
  update: Update;
}

/** The leader's view of every member's latest metrics, published at a rate that falls with N. */
export interface LoadSummary extends InTerm {
  type: 'summary';
  /** Per member: its metrics and their age at `at` (ms). */
  members: Array<{ peerId: string; ageMs: number; metrics: MetricMap }>;
}

/** The operator is terminating the pool: leaders must stop scaling from now on. */
export interface PoolStopping extends Signed {
  type: 'stopping';
  at: number;
}

/** What an intent and its outcome both name: one provider call of a term. */
export interface ScalingAction extends InTerm {
  cloud: string;
  /** Action number within the term; with the term it derives the client token. */
  action: number;
  kind: 'expand' | 'contract' | 'replace';
  token: string;
}

/** Announced by the leader before it calls the provider. */
export interface Intent extends ScalingAction {
  type: 'intent';
  count: number;
  /** Instance ids the action targets (contractions, orphan terminations). */
  targets: string[];
  reason: string;
}

/** Announced by the leader after the provider answered. */
export interface Outcome extends ScalingAction {
  type: 'outcome';
  ok: boolean;
  instanceIds: string[];
  error?: string;
}

/** The leader asks one member to drain and leave before its instance is terminated. */
export interface Retire extends InTerm {
  type: 'retire';
  target: string;
  token: string;
}

export type HeartbeatTopicMessage = Heartbeat | MemberUpdate;
export type ControlMessage = Intent | Outcome | Retire | LoadSummary | PoolStopping;
export type WireMessage = HeartbeatTopicMessage | ControlMessage;
