import type { Heartbeat } from '../../shared/wire/heartbeat.ts';
import { BundleManager } from '../bundle/manager.ts';
import { bundleSources } from '../bundle/sources.ts';
import { BundleStore } from '../bundle/store.ts';
import { configureNode } from '../configure/configure.ts';
import type { Membership } from '../membership/membership.ts';
import { BUNDLE_LEVELS, leveled } from './log-levels.ts';
import type { Wiring } from './wiring.ts';

export interface BundlesInput
  extends Pick<Wiring, 'config' | 'peerId' | 'now' | 'log' | 'events' | 'node' | 'leadership'> {
  membership: Membership;
  /** A retired agent leads no rollout. */
  retired: () => boolean;
  /** Aborts a pull from the configured sources when the agent stops. */
  stopping: AbortSignal;
}

/** The bundle manager, reading the pool through the membership and the election. */
export function buildBundles(i: BundlesInput): BundleManager {
  const { config: c, peerId, log, membership, leadership } = i;
  const t = c.tunables;
  // A suspect member may be mid-apply: a rollout that forgot it would grant the next one too
  // (seen on a loaded machine: two members applied a bundle meant for one at a time).
  const liveRecords = () => {
    const out: Heartbeat[] = [];
    for (const m of membership.known())
      if (m.liveness.state === 'alive' || m.liveness.state === 'suspect') out.push(m.record);
    return out;
  };
  return new BundleManager({
    node: i.node,
    store: new BundleStore(c.dataDir),
    now: i.now,
    selfPeerId: () => peerId,
    cloud: c.cloud,
    leading: () => !i.retired() && leadership.leads !== null,
    leaderHeartbeat: () => {
      const leader = leadership.leader;
      return leader && leader.peerId !== peerId ? (membership.record(leader.peerId) ?? null) : null;
    },
    peers: liveRecords,
    configure: (bundleDir) =>
      configureNode({
        bundleDir,
        timeout: t.applyTimeout,
        onLog: ({ source, stream, line }) => log.info('configure-log', { source, stream, line }),
      }),
    // An apply's outcome goes into our record at once (a rollout grants the next member on it).
    emit: (e) => {
      i.events.emit(e);
      membership.refreshRecord();
    },
    log: leveled(log, BUNDLE_LEVELS),
    maxBytes: t.maxBundleBytes,
    maxUnavailable: t.maxUnavailable,
    ...(c.bundle ? { initial: c.bundle.sha256 } : {}),
    sources: bundleSources(c, i.stopping),
  });
}
