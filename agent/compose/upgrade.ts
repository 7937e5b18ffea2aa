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
  /** Leads and holds its quorum lease (the duty's acting term): only then does it drive a rollout. */
  acting: () => boolean;
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
    leading: () => !i.retired() && leadership.leads !== null,
    acting: () => !i.retired() && i.acting(),
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
