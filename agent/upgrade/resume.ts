import type { RolloutPlan } from '../../shared/upgrade/protocol.ts';
import {
  current,
  LEADER_GATE_SLACK,
  type LeaderSelf,
  type MemberObservation,
  type MemberProgress,
  selfProgress,
  type UpgradeRollout,
} from './rollout.ts';

/**
 * How long after it started a rollout may be continued by a new leader (ms): as long as a push
 * stays good (shared/upgrade/freshness.ts). An older one needs a new push, so a node that kept
 * an old plan cannot, on becoming leader, take the pool back to what it named.
 */
export const RESUME_WITHIN = 3_600_000;

/**
 * The rollout a new leader continues (pure): the plan it staged for and what every member says
 * now. Nothing is restarted from scratch: members on the target and ready are done, members
 * holding it are staged, a member that rolled back from it halts the rollout as it did for the
 * leader before, and a member that left recently or runs the target unconfirmed is taken as
 * restarting on the earlier leader's order (its gate decides) — so the new leader never has two
 * members down where its predecessor had one.
 */
export function resumeRollout(
  plan: RolloutPlan,
  self: LeaderSelf & { last?: Outcome },
  seen: readonly MemberObservation[],
  now: number,
): UpgradeRollout {
  // This node's own restart into the target failed (a leader that restarted last and came back
  // leading, as in a pool of one): the failure that halts the rollout, not a member to restart again.
  const selfFailed = !self.runsTarget && self.last?.sha256 === plan.sha256 && !self.last.ok;
  const selfError = selfFailed ? `rolled back: ${self.last?.reason ?? 'not healthy'}` : undefined;
  const members: MemberProgress[] = [
    selfError
      ? { peerId: self.peerId, instanceId: self.instanceId, phase: 'failed', error: selfError }
      : selfProgress(plan.sha256, self, now),
  ];
  let halted: UpgradeRollout['halted'] = selfError
    ? { peerId: self.peerId, instanceId: self.instanceId, reason: selfError, at: now }
    : undefined;
  for (const o of current(plan, seen, now)) {
    const m: MemberProgress = { peerId: o.peerId, instanceId: o.instanceId, phase: 'pending' };
    const s = o.status;
    const onTarget = s?.sha256 === plan.sha256 && o.version === plan.version;
    if (onTarget && s?.ready && o.alive) m.phase = 'done';
    else if (o.leftAt !== undefined || onTarget)
      Object.assign(m, { phase: 'restarting', restartAt: o.leftAt ?? now, inherited: true });
    else if (s?.last && s.last.sha256 === plan.sha256 && !s.last.ok) {
      m.phase = 'failed';
      m.error = `rolled back: ${s.last.reason ?? 'not healthy'}`;
      halted ??= { peerId: o.peerId, instanceId: o.instanceId, reason: m.error, at: now };
    } else if (s?.held?.includes(plan.sha256)) m.phase = 'staged';
    members.push(m);
  }
  return {
    sha256: plan.sha256,
    version: plan.version,
    startedAt: plan.startedAt,
    gateMs: plan.gateMs,
    maxUnavailable: plan.maxUnavailable,
    members,
    ...(halted ? { halted } : {}),
  };
}

/** Whether a plan found on disk may still be continued at `now`. */
export function resumable(plan: RolloutPlan, now: number): boolean {
  return now - plan.startedAt <= RESUME_WITHIN && plan.startedAt <= now + 300_000;
}

type Outcome = NonNullable<MemberObservation['status']>['last'];

/**
 * Whether a rollout that a new leader finds complete on taking over is its to announce (pure):
 * `upgrade-complete` goes out once, from the leader that first sees every member done. The leader
 * restarts itself last, so the member that completes a rollout is usually that leader, coming
 * back after it stopped leading: nobody has announced it, and whoever leads next must — at once if
 * it was back before this leader took over. So a rollout whose last member confirmed the target
 * within a gate (and its slack) of `now` is announced; one confirmed longer ago was seen complete
 * by the leader of that time, which said so. `outcomes`: every member's last restart, this node's too.
 */
export function completedAtTakeover(plan: RolloutPlan, outcomes: readonly Outcome[], now: number): boolean {
  const confirmed = outcomes.flatMap((o) => (o?.ok && o.sha256 === plan.sha256 && o.at !== undefined ? [o.at] : []));
  return confirmed.length > 0 && now - Math.max(...confirmed) <= plan.gateMs + LEADER_GATE_SLACK;
}
