import type { Multiaddr } from '@multiformats/multiaddr';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import { type ClusterView, type LeaderDetail, type MemberView, memberBundleField } from '../shared/wire/cluster.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';
import type { LoadBook } from './load/book.ts';
import type { MemberLiveness } from './membership/swim/types.ts';
import { agentVersion } from './upgrade/running.ts';

/** This node's record (what the members topic carries about it), without seq and metrics. */
export function selfRecord(o: {
  peerId: string;
  config: AgentConfig;
  addrs: Multiaddr[];
  monitor: string;
  startedAt: number;
  leadership: Pick<Heartbeat, 'term' | 'leads' | 'retiring'>;
  bundles: Pick<Heartbeat, 'bundle' | 'bundleState' | 'bundleTarget' | 'bundleReport' | 'rollout'>;
}): Omit<Heartbeat, 'seq' | 'metrics'> {
  const suffix = `/p2p/${o.peerId}`;
  return {
    v: 2,
    type: 'heartbeat',
    peerId: o.peerId,
    instanceId: o.config.instanceId,
    cloud: o.config.cloud,
    addrs: o.addrs.map((ma) => {
      const s = ma.toString();
      return s.endsWith(suffix) ? s.slice(0, -suffix.length) : s;
    }),
    monitor: o.monitor,
    startedAt: o.startedAt,
    version: agentVersion(),
    ...o.leadership,
    ...o.bundles,
  };
}

function view(
  r: Heartbeat,
  state: MemberView['state'],
  lastSeenMs: number,
  metrics: Heartbeat['metrics'],
  metricsAgeMs?: number,
): MemberView {
  return {
    peerId: r.peerId,
    instanceId: r.instanceId,
    cloud: r.cloud,
    state,
    addrs: r.addrs,
    monitor: r.monitor,
    lastSeenMs,
    startedAt: r.startedAt,
    version: r.version,
    metrics,
    ...(metricsAgeMs !== undefined ? { metricsAgeMs } : {}),
    ...memberBundleField(r),
  };
}

/** GET /cluster: self (unless retired) and every member with a record, its liveness and metrics. */
export function clusterView(o: {
  pool: string;
  self: Heartbeat | null;
  selfId: string;
  now: number;
  leader: LeaderDetail | null;
  members: Array<{ record: Heartbeat; liveness: MemberLiveness; lastHeard: number }>;
  load: LoadBook | undefined;
}): ClusterView {
  const members: MemberView[] = o.self ? [view(o.self, 'alive', 0, o.self.metrics)] : [];
  for (const m of o.members) {
    const load = o.load?.get(m.record.peerId);
    const age = load ? Math.max(0, o.now - load.at) : undefined;
    members.push(view(m.record, m.liveness.state, Math.max(0, o.now - m.lastHeard), load?.metrics ?? {}, age));
  }
  // Code-unit order, not localeCompare: collation would page ICU data into every agent's RSS.
  members.sort((a, b) => a.startedAt - b.startedAt || (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0));
  return {
    pool: o.pool,
    self: o.selfId,
    leader: o.leader ? { peerId: o.leader.peerId, term: o.leader.term } : null,
    members,
  };
}
