import { ROLLBACK_VERSION } from '../../shared/upgrade/rollback.ts';
import type { UpgradeEvent } from '../../shared/wire/cluster.ts';
import type { UpgradeRollout } from './rollout.ts';

/**
 * What changed between two states of a rollout, as pool events (pure): each member whose phase
 * moved, then the halt or the completion when it is new.
 */
export function rolloutEvents(before: UpgradeRollout, after: UpgradeRollout, now: number): UpgradeEvent[] {
  const base = { sha: after.sha256, version: after.version, at: now };
  const events: UpgradeEvent[] = [];
  for (const m of after.members) {
    const was = before.members.find((x) => x.peerId === m.peerId);
    if (was?.phase !== m.phase)
      events.push({
        type: 'upgrade-progress',
        ...base,
        peerId: m.peerId,
        instanceId: m.instanceId,
        phase: m.phase,
        ...(m.error ? { error: m.error } : {}),
      });
  }
  if (after.halted && !before.halted)
    events.push({
      type: 'upgrade-halted',
      ...base,
      peerId: after.halted.peerId,
      instanceId: after.halted.instanceId,
      reason: after.halted.reason,
    });
  if (after.completedAt !== undefined && before.completedAt === undefined)
    events.push({ type: 'upgrade-complete', ...base, members: after.members.length });
  return events;
}

/** `upgrade-started` of a rollout: begun by a push, or continued by a new leader (`resumed`). */
export function startedEvent(
  r: Pick<UpgradeRollout, 'sha256' | 'version'>,
  members: number,
  resumed: boolean,
  at: number,
): UpgradeEvent {
  return { type: 'upgrade-started', sha: r.sha256, version: r.version, members, resumed, at };
}

/** A `--rollback` run on the leader (rollback-leader.ts), as GET /upgrade shows it. */
export interface RollbackProgress {
  /** The rollback's name (shared/upgrade/rollback.ts): its events carry it as their `sha`. */
  id: string;
  startedAt: number;
  /** Members still to return, in order (the leader is not among them: it goes last). */
  queue: string[];
  /** The member returning now, what it ran before, and since when. */
  current: { peerId: string; before: string | null; at: number } | null;
  done: string[];
  skipped: Array<{ peerId: string; why: string }>;
  halted?: { peerId: string; reason: string; at: number };
  completedAt?: number;
}

/**
 * The same events for `poolparty upgrade --rollback` (pure): the rollback's id stands where an
 * upgrade names its artifact's hash, and each member's return is a phase change like a restart
 * into a new artifact (a member with nothing to return to is done, skipped, with why). The leader
 * returns last: when the others are done it is restarting, and the rollback is complete.
 */
export function rollbackEvents(
  before: RollbackProgress,
  after: RollbackProgress,
  who: { self: string; instanceOf: (peerId: string) => string },
  now: number,
): UpgradeEvent[] {
  const base = { sha: after.id, version: ROLLBACK_VERSION, at: now };
  const progress = (peerId: string, phase: 'restarting' | 'done' | 'failed', error?: string): UpgradeEvent => ({
    type: 'upgrade-progress',
    ...base,
    peerId,
    instanceId: who.instanceOf(peerId),
    phase,
    ...(error ? { error } : {}),
  });
  const events: UpgradeEvent[] = [];
  const cur = after.current;
  if (cur && cur.peerId !== before.current?.peerId) events.push(progress(cur.peerId, 'restarting'));
  for (const peer of after.done) if (!before.done.includes(peer)) events.push(progress(peer, 'done'));
  for (const s of after.skipped)
    if (!before.skipped.some((b) => b.peerId === s.peerId))
      events.push(progress(s.peerId, 'done', `skipped: ${s.why}`));
  const h = after.halted;
  if (h && !before.halted) {
    const instanceId = who.instanceOf(h.peerId);
    events.push(progress(h.peerId, 'failed', h.reason));
    events.push({ type: 'upgrade-halted', ...base, peerId: h.peerId, instanceId, reason: h.reason });
  }
  if (after.completedAt !== undefined && before.completedAt === undefined) {
    events.push(progress(who.self, 'restarting'));
    events.push({ type: 'upgrade-complete', ...base, members: after.done.length + 1 });
  }
  return events;
}
