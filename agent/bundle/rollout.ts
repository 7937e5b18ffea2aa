import type { BundleState, RolloutAnnouncement } from '../../shared/wire/heartbeat.ts';

/** A member's configuration state as gossiped in its heartbeat. */
export interface BundleMemberState {
  peerId: string;
  cloud?: string;
  bundle?: string;
  bundleState?: BundleState;
  bundleTarget?: string;
}

export interface RolloutProgress {
  announcement: RolloutAnnouncement;
  /** Members that have applied the desired bundle. */
  done: string[];
  /** Members fetching or applying it now. */
  inProgress: string[];
  /** Members still to do. */
  pending: string[];
  complete: boolean;
}

/**
 * The leader's side of a rolling update, pure: which members may apply the desired bundle now.
 * At most maxUnavailable members are fetching or applying at once; the next ones are granted as
 * earlier ones report success; a member that reports failure halts the rollout (no new grants)
 * until an operator pushes a new bundle. The leader goes last so the pool keeps its coordinator.
 */
export function planRollout(
  current: RolloutAnnouncement,
  members: readonly BundleMemberState[],
  leaderPeerId: string,
): RolloutProgress {
  const { sha } = current;
  const done: string[] = [];
  const inProgress: string[] = [];
  const pending: string[] = [];
  let halted = current.halted;
  for (const m of members) {
    if (current.cloud !== undefined && m.cloud !== current.cloud) continue;
    if (m.bundle === sha && m.bundleState !== 'fetching' && m.bundleState !== 'applying') done.push(m.peerId);
    else if (m.bundleTarget === sha && (m.bundleState === 'fetching' || m.bundleState === 'applying')) {
      inProgress.push(m.peerId);
    } else if (m.bundleTarget === sha && m.bundleState === 'failed') {
      halted ??= `${m.peerId} failed to apply ${sha.slice(0, 12)}`;
      pending.push(m.peerId);
    } else pending.push(m.peerId);
  }
  pending.sort((a, b) => (a === leaderPeerId ? 1 : b === leaderPeerId ? -1 : a < b ? -1 : a > b ? 1 : 0));
  const slots = halted ? 0 : Math.max(0, current.maxUnavailable - inProgress.length);
  // Keep granting the ones in progress (so they finish) plus the next in line.
  const allowed = [...inProgress, ...pending.slice(0, slots)];
  const announcement: RolloutAnnouncement = { ...current, allowed, ...(halted ? { halted } : {}) };
  return { announcement, done, inProgress, pending, complete: pending.length === 0 && inProgress.length === 0 };
}
