import type { Repeat } from '../beat.ts';
import type { LeaderDuty } from '../leadership/duty.ts';
import { leaseTimeout } from '../leadership/lease.ts';
import type { Membership } from '../membership/membership.ts';
import type { MonitorRoute } from '../monitor/app.ts';
import { UpgradeService } from '../upgrade/service.ts';
import type { Wiring } from './wiring.ts';

export interface UpgradeInput
  extends Pick<Wiring, 'config' | 'peerId' | 'now' | 'log' | 'node' | 'leadership' | 'events'> {
  membership: Membership;
  /** A retired agent leads no rollout. */
  retired: () => boolean;
  /** The agent's readiness (GET /ready): the health gate of a restart. */
  ready: () => boolean;
  /** The leader's duty: a rollout is driven only in its acting term, with the lease held a while. */
  duty: Pick<LeaderDuty, 'actingTerm' | 'leaseHeldFor'>;
  /** The agent's shared timer (agent/beat.ts). */
  repeat?: Repeat;
}

/** The upgrade component, reading the pool through the membership and the election. */
export function buildUpgrade(i: UpgradeInput): UpgradeService {
  const { config: c, peerId, membership, leadership, log } = i;
  return new UpgradeService({
    node: i.node,
    pool: c.pool,
    dataDir: c.dataDir,
    publicKey: c.upgrade?.publicKey,
    selfPeerId: peerId,
    selfInstanceId: c.instanceId,
    tunables: c.tunables,
    repeat: i.repeat,
    leading: () => !i.retired() && leadership.leads !== null,
    // Held for a whole lease window (3 load intervals, as buildDuty): a lease that rests only on
    // acknowledgements of the same term number sent to an earlier leader has lapsed by then.
    acting: () =>
      !i.retired() && i.duty.actingTerm() !== null && i.duty.leaseHeldFor() >= leaseTimeout(c.tunables.loadInterval),
    leaderPeerId: () => leadership.leader?.peerId ?? null,
    ready: i.ready,
    // Members that left are listed with when: a graceful leave is how a member restarts into a new
    // agent, so a leader that took over mid-rollout counts a recent one as down (rollout.ts).
    members: () =>
      [...membership.known()]
        .filter((m) => m.record.peerId !== peerId && m.liveness.state !== 'dead')
        .map((m) => ({
          peerId: m.record.peerId,
          instanceId: m.record.instanceId,
          alive: m.liveness.state === 'alive',
          version: m.record.version,
          ...(m.liveness.state === 'left' ? { leftAt: m.liveness.since } : {}),
        })),
    now: i.now,
    log: (msg, fields) => log.info(msg, fields),
    emit: (e) => i.events.emit(e),
  });
}

/** GET /upgrade on every monitor. */
export function upgradeRoute(upgrade: UpgradeService): MonitorRoute {
  return {
    method: 'GET',
    path: '/upgrade',
    description:
      'agent upgrade: what this node runs and holds, its last restart; on the leader the rollout, where and why it halted',
    handler: async (c) => c.json(await upgrade.view()),
  };
}
