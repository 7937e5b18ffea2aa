import type { ClusterView } from '../../shared/wire/cluster.ts';
import type { Heartbeat } from '../../shared/wire/heartbeat.ts';
import type { BundleManager } from '../bundle/manager.ts';
import { clusterView, selfRecord } from '../cluster-view.ts';
import type { LoadExchange } from '../load/exchange.ts';
import type { Membership } from '../membership/membership.ts';
import type { MetricSampler } from '../metrics/sampler.ts';
import type { MonitorServer } from '../monitor/server.ts';
import type { Retirement } from '../retirement.ts';
import type { Wiring } from './wiring.ts';

export interface ViewsInput extends Pick<Wiring, 'config' | 'peerId' | 'startedAt' | 'now' | 'node' | 'leadership'> {
  monitor: MonitorServer;
  bundles: BundleManager;
  retirement: Retirement;
  sampler: MetricSampler;
  membership: Membership;
  load: LoadExchange;
  running: () => boolean;
}

export interface AgentViews {
  /** The monitor's URL: the configured one, or the bound one when the port was chosen at start. */
  monitorUrl(): string;
  /** This node's own record, as it gossips it. */
  record(): Omit<Heartbeat, 'seq' | 'metrics'>;
  cluster(): ClusterView;
  /** Members by state for the metrics, self included while it runs. */
  countByState(): { alive: number; suspect: number; dead: number; left: number };
}

/** Longest time our own multiaddrs are reused without asking libp2p again (ms). */
const ADDRS_FOR = 5_000;

/** What the agent says of itself and of the pool, read from its parts when asked. */
export function agentViews(i: ViewsInput): AgentViews {
  const { config: c, peerId, membership, retirement } = i;
  const addrs = ownAddrs(i.node, i.now);
  const monitorUrl = () => {
    const { port, url } = c.monitor;
    if (port !== 0 && url) return url;
    try {
      return i.monitor.url;
    } catch {
      return url;
    }
  };
  const record = () =>
    selfRecord({
      peerId,
      config: c,
      addrs: addrs(),
      monitor: monitorUrl(),
      startedAt: i.startedAt,
      leadership: i.leadership.heartbeatFields(),
      bundles: i.bundles.heartbeatFields(),
    });
  return {
    monitorUrl,
    record,
    cluster: () =>
      clusterView({
        pool: c.pool,
        self: retirement.retired ? null : { ...record(), seq: 0, metrics: i.sampler.values() },
        selfId: peerId,
        now: i.now(),
        leader: i.leadership.leader,
        members: [...membership.known()],
        load: i.load.book,
      }),
    countByState: () => {
      const counts = { alive: 0, suspect: 0, dead: 0, left: 0 };
      for (const m of membership.known()) counts[m.liveness.state]++;
      if (i.running() && !retirement.retired) counts.alive++;
      return counts;
    },
  };
}

/**
 * The node's own multiaddrs, asked of libp2p again after it says they changed or ADDRS_FOR ms:
 * membership rebuilds our record every 250 ms to notice changes, and libp2p's address manager
 * recomputes the list on each call (a few percent of an idle agent's CPU in a profile).
 */
function ownAddrs(node: ViewsInput['node'], now: () => number): () => ReturnType<ViewsInput['node']['getMultiaddrs']> {
  let cached: ReturnType<ViewsInput['node']['getMultiaddrs']> = [];
  let at = Number.NEGATIVE_INFINITY;
  node.addEventListener('self:peer:update', () => {
    at = Number.NEGATIVE_INFINITY;
  });
  return () => {
    if (now() - at >= ADDRS_FOR) {
      cached = node.getMultiaddrs();
      // Not listening yet: ask again next time.
      if (cached.length > 0) at = now();
    }
    return cached;
  };
}
