import type { EventHub } from '../events.ts';
import { type AgentMetrics, type AgentMetricsOptions, createAgentMetrics } from '../monitor/prom.ts';
import type { AgentLog } from '../types.ts';

export interface Telemetry {
  metrics: AgentMetrics;
  /** A gossip message refused: counted, and logged unless it was merely stale. */
  onReject: (reason: string, detail: string) => void;
  onBytes: (direction: 'in' | 'out', bytes: number) => void;
  /** A component's timer failed. */
  onError: (name: string, err: Error) => void;
}

/** The agent's metrics and logging: every event is logged, member events are also counted. */
export function telemetry(
  log: AgentLog,
  events: EventHub,
  membersByState: AgentMetricsOptions['membersByState'],
): Telemetry {
  const metrics = createAgentMetrics({ membersByState });
  events.subscribe((e) => {
    if (e.type.startsWith('member-')) metrics.memberEvents.inc({ type: e.type });
    const { type, ...fields } = e;
    log.info(type, fields);
  });
  return {
    metrics,
    onReject: (reason, detail) => {
      metrics.heartbeatsRejected.inc({ reason });
      if (reason !== 'stale') log.warn('message-rejected', { reason, detail });
    },
    onBytes: (direction, bytes) => metrics.gossipBytes.inc({ direction }, bytes),
    onError: (name, err) => log.error('timer-failed', { component: name, error: err.message }),
  };
}
