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
