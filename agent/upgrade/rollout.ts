import type { RolloutPlan } from '../../shared/upgrade/protocol.ts';

/**
 * The leader's side of an upgrade, pure: which member to stage, which to restart, when to halt.
 * Every member first stages the artifact (fetched from peers that hold it, verified, kept beside
 * the current one), which costs no availability; then members restart into it one at a time
 * (maxUnavailable), each through its health gate, the leader last. The first failure halts the
 * rollout pool-wide: no further member restarts until a new push.
 */

export type MemberPhase = 'pending' | 'staged' | 'restarting' | 'done' | 'failed';

export interface MemberProgress {
  peerId: string;
  instanceId: string;
  phase: MemberPhase;
  /** When it was told to restart (epoch ms). */
  restartAt?: number;
  /** Why staging or the restart failed. */
  error?: string;
  /**
   * Restarting on an earlier leader's order, as far as a new leader can tell (it left recently,
   * or runs the target unconfirmed): past the gate it is dropped, not a failure — it may have
   * left the pool for good.
   */
  inherited?: boolean;
}

export interface UpgradeRollout {
  sha256: string;
  version: string;
  startedAt: number;
  /** How long a restarted member has to show the new version and be ready (ms). */
  gateMs: number;
  maxUnavailable: number;
  members: MemberProgress[];
  halted?: { peerId: string; instanceId: string; reason: string; at: number };
  completedAt?: number;
}

/** What every member keeps of a rollout (rollout.json): what a new leader continues from. */
export const planOf = (r: UpgradeRollout): RolloutPlan => ({
  sha256: r.sha256,
  version: r.version,
  startedAt: r.startedAt,
  gateMs: r.gateMs,
  maxUnavailable: r.maxUnavailable,
});

/**
 * A rollout a push begins (pure): the leader alone, staged (it holds the pushed artifact), or
 * done already when it runs it (the same push handed to a leader upgraded by an earlier one).
 */
export function startRollout(
  target: { sha256: string; version: string },
  self: LeaderSelf,
  o: { gateMs: number; maxUnavailable: number; now: number },
): UpgradeRollout {
  return {
    sha256: target.sha256,
    version: target.version,
    startedAt: o.now,
    gateMs: o.gateMs,
    maxUnavailable: o.maxUnavailable,
    members: [selfProgress(target.sha256, self, o.now)],
  };
}

/** The leader as it starts or continues a rollout: whether it runs the target, and which gate is open. */
export interface LeaderSelf {
  peerId: string;
  instanceId: string;
  runsTarget: boolean;
  /** The artifact whose gate is open on this node (store.openTrial), if any. */
  trial?: string | null;
}

/**
 * The leader's own entry: on the target it is done once its gate is over (its supervisor recorded
 * the trial), restarting while that gate is open (planUpgrade counts it done when it closes);
 * otherwise it holds the artifact, staged.
 */
export function selfProgress(sha256: string, self: LeaderSelf, now: number): MemberProgress {
  const { peerId, instanceId } = self;
  if (!self.runsTarget) return { peerId, instanceId, phase: 'staged' };
  return self.trial === sha256
    ? { peerId, instanceId, phase: 'restarting', restartAt: now }
    : { peerId, instanceId, phase: 'done' };
}

/** What the leader sees of one member at a tick. */
export interface MemberObservation {
  peerId: string;
  instanceId: string;
  alive: boolean;
  /** When it left the pool gracefully (as a restart does); absent while it takes part. */
  leftAt?: number;
  /** The version in its record. */
  version: string;
  /** Its status answer, when it gave one this tick. */
  status?: {
    sha256: string | null;
    ready: boolean;
    /** Its last restart into an artifact as its supervisor judged it (`at`: when, its clock). */
    last: { sha256: string; ok: boolean; reason?: string; at?: number } | null;
    held?: string[];
    /** The artifact whose gate is still open there (absent from older agents: taken as none). */
    trial?: string | null;
    /** When it last returned to its previous artifact for a `--rollback` (its clock). */
    returnedAt?: number;
  };
}

/**
 * The observations that count: a member that left longer ago than a restart may take is gone,
 * one that left more recently may be restarting and counts as down.
 */
export function current(r: Pick<UpgradeRollout, 'gateMs'>, seen: readonly MemberObservation[], now: number) {
  return seen.filter((o) => o.leftAt === undefined || now - o.leftAt <= r.gateMs + LEADER_GATE_SLACK);
}

export type Step =
  | { kind: 'stage'; peers: string[]; holders: string[] }
  | { kind: 'activate'; peers: string[] }
  | { kind: 'activate-self' }
  | { kind: 'wait' }
  | { kind: 'done' };

/** Peers named as sources in one stage request. */
export const MAX_HOLDERS = 16;

/** Extra time past the member's own gate before the leader gives up on it (its restart, the rejoin). */
export const LEADER_GATE_SLACK = 15_000;

/**
 * Folds what the leader observes into the rollout (new members join its list; a restarted member
 * that runs the target, is ready and whose gate is over is done; one that rolled back, or overran
 * the gate, halts it) and says what to do next. `self` is the leader: it restarts last. `seen` may
 * hold the leader's own observation: on the target, it is done once its own gate is over (its
 * supervisor recorded the trial), so `upgrade-complete` never precedes that record.
 */
export function planUpgrade(
  r: UpgradeRollout,
  seen: readonly MemberObservation[],
  self: string,
  now: number,
): { rollout: UpgradeRollout; step: Step } {
  seen = current(r, seen, now);
  // A member gone from the pool (dead, or left long ago) is no longer waited for, unless this
  // leader restarted it: its gate decides.
  const members = r.members
    .filter(
      (m) =>
        m.phase === 'restarting' || m.phase === 'done' || m.peerId === self || seen.some((o) => o.peerId === m.peerId),
    )
    .map((m) => ({ ...m }));
  for (const o of seen)
    if (!members.some((m) => m.peerId === o.peerId))
      members.push({ peerId: o.peerId, instanceId: o.instanceId, phase: 'pending' });
  let halted = r.halted;
  for (const m of members) {
    const o = seen.find((x) => x.peerId === m.peerId);
    const runsTarget = o?.status?.sha256 === r.sha256 && o.version === r.version;
    const judged = o?.status?.trial !== r.sha256;
    // The leader's own supervisor decides its gate (a failure ends this process): no timeout here.
    if (m.peerId === self && runsTarget && m.phase !== 'failed') {
      m.phase = judged ? 'done' : 'restarting';
      continue;
    }
    if (m.phase !== 'done' && m.phase !== 'failed' && runsTarget && judged && o?.alive && o.status?.ready) {
      m.phase = 'done';
      continue;
    }
    if (m.phase !== 'restarting') continue;
    const last = o?.status?.last;
    const rolledBack = last && last.sha256 === r.sha256 && !last.ok;
    const reason = rolledBack
      ? `rolled back: ${last.reason ?? 'not healthy'}`
      : now > (m.restartAt ?? now) + r.gateMs + LEADER_GATE_SLACK
        ? `not back on ${r.version} and ready within ${r.gateMs + LEADER_GATE_SLACK} ms`
        : undefined;
    if (reason && m.inherited && !rolledBack) {
      m.phase = 'pending';
      m.inherited = undefined;
      continue;
    }
    if (reason) {
      m.phase = 'failed';
      m.error = reason;
      halted ??= { peerId: m.peerId, instanceId: m.instanceId, reason, at: now };
    }
  }
  // One inherited as restarting that never came back and is gone from the pool is not waited for.
  const kept = members.filter((m) => m.phase !== 'pending' || seen.some((o) => o.peerId === m.peerId));
  const rollout: UpgradeRollout = { ...r, members: kept, ...(halted ? { halted } : {}) };
  if (halted) return { rollout, step: { kind: 'wait' } };
  const others = kept.filter((m) => m.peerId !== self);
  // Members that hold it serve it first; the leader is asked last, so it is not everyone's source.
  // At most MAX_HOLDERS - 1 of them: the request must fit one header line (4 kB) in any pool.
  const holders = [
    ...others
      .filter((m) => m.phase !== 'pending' && m.phase !== 'failed')
      .map((m) => m.peerId)
      .slice(0, MAX_HOLDERS - 1),
    self,
  ];
  const pending = others.filter((m) => m.phase === 'pending');
  const restarting = others.filter((m) => m.phase === 'restarting');
  // Everyone else must be alive before another goes down: a member lost meanwhile (suspect, or
  // left recently: perhaps restarting) counts as down; a dead one is gone, the scaler's business.
  const down = others.filter(
    (m) => m.phase !== 'restarting' && seen.some((o) => o.peerId === m.peerId && !o.alive),
  ).length;
  const slots = Math.max(0, r.maxUnavailable - restarting.length - down);
  const staged = others.filter((m) => m.phase === 'staged').sort((a, b) => (a.peerId < b.peerId ? -1 : 1));
  // Every member stages before the next one goes down: the plan it keeps with the artifact is
  // what lets it continue the rollout should it lead next, and a leader lost mid-rollout may be
  // followed by any member (one that did not follow this leader yet when first asked, or joined
  // since, would otherwise lead on with no rollout to continue).
  if (pending.length > 0 && (slots > 0 || (restarting.length === 0 && staged.length === 0)))
    return { rollout, step: { kind: 'stage', peers: pending.map((m) => m.peerId), holders } };
  if (staged.length > 0 && slots > 0)
    return { rollout, step: { kind: 'activate', peers: staged.slice(0, slots).map((m) => m.peerId) } };
  if (restarting.length > 0 || pending.length > 0 || staged.length > 0) return { rollout, step: { kind: 'wait' } };
  const leader = kept.find((m) => m.peerId === self);
  // Once told, the leader is on its way out: asking again would activate it a second time.
  if (leader?.phase === 'restarting') return { rollout, step: { kind: 'wait' } };
  if (leader && leader.phase !== 'done') return { rollout, step: { kind: 'activate-self' } };
  return { rollout: { ...rollout, completedAt: rollout.completedAt ?? now }, step: { kind: 'done' } };
}

/** Marks members after the leader acted on them: staged, restarting, or failed with the reason. */
export function markMember(
  r: UpgradeRollout,
  peerId: string,
  phase: MemberPhase,
  now: number,
  error?: string,
): UpgradeRollout {
  const m = r.members.find((x) => x.peerId === peerId);
  // A member that refuses or loses the artifact halts the rollout like one that failed its gate.
  const halted =
    phase === 'failed' && !r.halted && m
      ? { peerId, instanceId: m.instanceId, reason: error ?? 'failed', at: now }
      : r.halted;
  return {
    ...r,
    ...(halted ? { halted } : {}),
    members: r.members.map((m) =>
      m.peerId === peerId
        ? { ...m, phase, ...(phase === 'restarting' ? { restartAt: now } : {}), ...(error ? { error } : {}) }
        : m,
    ),
  };
}
