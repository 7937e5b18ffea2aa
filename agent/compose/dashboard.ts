import type { Registry } from 'prom-client';
import type { ClusterView, PoolEvent } from '../../shared/wire/cluster.ts';
import type { Repeat } from '../beat.ts';
import { HistoryRecorder } from '../monitor/history.ts';
import { type CloudScalingView, registerPoolMetrics } from '../monitor/pool-metrics.ts';
import type { Wiring } from './wiring.ts';

export interface DashboardInput extends Pick<Wiring, 'config' | 'now' | 'events'> {
  registry: Registry;
  cluster: () => ClusterView;
  /** Every cloud's scaler snapshot (undefined: this agent may not lead). */
  scaling: () => Record<string, CloudScalingView> | undefined;
  leads: () => boolean;
  /** The agent's shared timer (agent/beat.ts). */
  repeat?: Repeat;
}

/**
 * What an operator looks at: the pool metrics in the agent's registry (scraped) and the bounded
 * history the live page draws (GET /history, SSE `pool-sample`). Both read the same views.
 */
export function buildDashboard(i: DashboardInput): { history: HistoryRecorder } {
  const { config: c } = i;
  const subscribe = (listener: (e: PoolEvent) => void) => i.events.subscribe(listener);
  registerPoolMetrics(i.registry, {
    pool: c.pool,
    cloud: c.cloud,
    instanceId: c.instanceId,
    cluster: i.cluster,
    scaling: i.scaling,
    leads: i.leads,
    subscribe,
  });
  return {
    history: new HistoryRecorder({ now: i.now, cluster: i.cluster, scaling: i.scaling, subscribe, repeat: i.repeat }),
  };
}
