import type { MemberEvent } from '../../shared/wire/cluster.ts';
import type { Heartbeat } from '../../shared/wire/heartbeat.ts';
import type { ProbeFrame } from '../../shared/wire/probe.ts';
import type { Repeat } from '../beat.ts';
import type { PoolNode } from '../p2p/node.ts';
import type { BindingSource } from './binding.ts';
import type { OwnIdentity } from './binding-imds.ts';
import type { SwimConfig } from './swim/config.ts';

export interface MembershipOptions {
  node: PoolNode;
  pool: string;
  self: string;
  swim: SwimConfig;
  now: () => number;
  /** Multiaddrs (with /p2p/) of seeds to pull the table from at start. */
  bootstrap: string[];
  /** This node's record as it stands (seq and metrics are filled in here). */
  record: () => Omit<Heartbeat, 'seq' | 'metrics'>;
  maxMessageBytes: number;
  /** Frames that are not probes (load reports) go here. */
  onFrame: (from: string, frame: ProbeFrame) => void;
  onEvent: (e: MemberEvent) => void;
  /** A member's record was kept (a claim or a step-down may be in it: the election steps on it). */
  onRecord?: (r: Heartbeat) => void;
  onReject: (reason: string, detail: string) => void;
  onBytes: (direction: 'in' | 'out', bytes: number) => void;
  log: (msg: string, fields: Record<string, unknown>) => void;
  maxConnections: number;
  /** The larger peer id's wait for the other end's dial of a new ring edge (ms, dial-order.ts). */
  dialDeferMs?: number;
  /** The timer of the lost-member retry and the neighbours' upkeep (agent/beat.ts); default their own. */
  repeat?: Repeat;
  /** Who vouches for a cloud's members (binding.ts); undefined: nobody is checked (first claim wins). */
  binding?: (cloud: string) => BindingSource | undefined;
  /** EC2 members: our identity document, carried in our record (binding-imds.ts). */
  identity?: OwnIdentity;
  /**
   * Signs our record with our peer id's key (record-signatures.ts); without it our record goes
   * unsigned, as an agent of the release before session 21 sends it: others keep it only from us.
   */
  signRecord?: (bytes: Uint8Array) => Uint8Array;
}

/**
 * The core is ticked when it next wants to be (`wakeAt`: a probe, its timeout, a suspicion, a
 * tell, a sync), not on a fixed beat — an idle member wakes ~3 times per probe period instead of
 * 10 — but never more than TICK_MAX_MS apart (lapsed suspicions, binding re-checks and records of
 * removed members are looked at on ticks; the core also wants one every `probeInterval`), and
 * never closer than TICK_MIN_MS (a wake time already past must not spin the loop).
 */
export const TICK_MAX_MS = 500;
export const TICK_MIN_MS = 10;

/** When to tick next: at the core's `wakeAt`, but within TICK_MIN_MS..min(TICK_MAX_MS, probeInterval) from now. */
export function tickAt(now: number, wakeAt: number, probeInterval: number): number {
  return Math.max(now + TICK_MIN_MS, Math.min(wakeAt, now + Math.min(TICK_MAX_MS, probeInterval)));
}
/** When a joiner repeats its announcement (ms after its join sync). */
export const ANNOUNCE_AFTER = [200, 1000, 3000];
/** A member not bound yet (its launch not recorded yet) is checked again this often (ms). */
export const RECHECK_BINDING_MS = 2000;
/**
 * Retrying lost members: each member every 2 s for its first 10 minutes lost, so a partition of up
 * to 10 minutes merges within seconds of its heal (at 2 minutes, the length the fault suite cuts
 * for, the old 2-minute fast phase ended just as the cut healed); then every 30 s, for up to 6
 * hours. A retry its host refused (the agent died) goes to the 30 s rate at once. The cost is
 * bounded per agent whatever N or the number lost: one dial per second at most (joining.ts).
 */
export const LOST = { max: 1000, keepFor: 6 * 60 * 60 * 1000, fastEvery: 2000, fastFor: 600_000, slowEvery: 30_000 };
