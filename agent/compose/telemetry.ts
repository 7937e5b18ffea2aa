import type { AgentConfig } from '../../shared/wire/agent-config.ts';
import type { Repeat } from '../beat.ts';
import type { EventHub } from '../events.ts';
import { MetricSampler } from '../metrics/sampler.ts';
import { LogThrottle } from '../monitor/log-throttle.ts';
import { type AgentMetrics, type AgentMetricsOptions, createAgentMetrics } from '../monitor/prom.ts';
import type { AgentLog } from '../types.ts';
import { eventLevel } from './log-levels.ts';

export interface Telemetry {
  metrics: AgentMetrics;
  /** A gossip message refused: counted; logged unless merely stale, at most once per reason per REJECT_LOG_EVERY. */
  onReject: (reason: string, detail: string) => void;
  onBytes: (direction: 'in' | 'out', bytes: number) => void;
  /** A component's timer failed. */
  onError: (name: string, err: Error) => void;
}

/**
 * At most one 'message-rejected' line per reason per this long (ms); the metric counts every one.
 * A fixed limit, not a tunable: it bounds log volume under a flood and nothing else depends on it.
 */
export const REJECT_LOG_EVERY = 10_000;

/** The agent's metrics and logging: every event is logged at its level (log-levels.ts), member events are also counted. */
export function telemetry(
  log: AgentLog,
  events: EventHub,
  membersByState: AgentMetricsOptions['membersByState'],
  now: () => number,
): Telemetry {
  const metrics = createAgentMetrics({ membersByState });
  const rejects = new LogThrottle(REJECT_LOG_EVERY, now);
  events.subscribe((e) => {
    if (e.type.startsWith('member-')) metrics.memberEvents.inc({ type: e.type });
    const { type, ...fields } = e;
    log[eventLevel(e)](type, fields);
  });
  return {
    metrics,
    onReject: (reason, detail) => {
      metrics.heartbeatsRejected.inc({ reason });
      if (reason === 'stale') return;
      const take = rejects.take(reason);
      if (take.log)
        log.warn('message-rejected', { reason, detail, ...(take.suppressed ? { suppressed: take.suppressed } : {}) });
    },
    onBytes: (direction, bytes) => metrics.gossipBytes.inc({ direction }, bytes),
    onError: (name, err) => log.error('timer-failed', { component: name, error: err.message }),
  };
}

/** The node's own metric sampler (the load it gossips); a source's failure is counted and logged. */
export function buildSampler(c: AgentConfig, tel: Telemetry, log: AgentLog, repeat?: Repeat): MetricSampler {
  return new MetricSampler({
    sampleInterval: c.tunables.sampleInterval,
    repeat,
    sources: c.metrics,
    onError: (metric, error) => {
      tel.metrics.metricSourceErrors.inc({ metric });
      log.warn('metric-source-error', { metric, error });
    },
  });
}
