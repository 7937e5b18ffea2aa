import type { Registry } from 'prom-client';
import type { ClusterView, HealthView, MonitorEvent, StatsView } from '../../shared/wire/cluster.ts';

/**
 * What the monitor reads from the agent. The monitor app is a pure function of this: tests build
 * a fake source and call app.request() without a socket.
 */
export interface MonitorSource {
  health(): HealthView;
  stats(): StatsView;
  cluster(): ClusterView;
  /** Registers a listener for pool events; returns a function that unregisters it. */
  subscribe(listener: (event: MonitorEvent) => void): () => void;
  /** This agent's Prometheus registry (one per agent: several agents may share a process). */
  registry: Registry;
}
