import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { MemberEvent, MemberState } from '../../shared/wire/cluster.ts';

export interface AgentMetricsOptions {
  /** Read at scrape time so the gauge is never stale. Missing states are reported as 0. */
  membersByState: () => Record<MemberState, number>;
}

/** One agent's Prometheus metrics, all in that agent's own registry. */
export interface AgentMetrics {
  registry: Registry;
  heartbeatsSent: Counter;
  /** Accepted heartbeats only; refused ones go to heartbeatsRejected. */
  heartbeatsReceived: Counter;
  heartbeatsRejected: Counter<'reason'>;
  /** direction = "in" | "out". */
  gossipBytes: Counter<'direction'>;
  /** Set by whoever measures the lag; holds the latest measurement in seconds. */
  eventLoopLag: Gauge;
  metricSourceErrors: Counter<'metric'>;
  memberEvents: Counter<'type'>;
  leaderTerm: Gauge;
  isLeader: Gauge;
  leaseHeld: Gauge;
  leaderChanges: Counter;
}

// Keyed by the union so adding a state or event type without listing it here fails to compile.
const MEMBER_STATES: Record<MemberState, true> = { alive: true, suspect: true, dead: true, left: true };
const MEMBER_EVENT_TYPES: Record<MemberEvent['type'], true> = {
  'member-joined': true,
  'member-suspect': true,
  'member-dead': true,
  'member-left': true,
  'member-recovered': true,
  'member-removed': true,
};

/**
 * Builds a fresh registry per call: several agents may run in one process (tests, local pools),
 * and the prom-client global registry would make them collide on metric names.
 */
export function createAgentMetrics(opts: AgentMetricsOptions): AgentMetrics {
  const registry = new Registry();
  const registers = [registry];

  const heartbeatsSent = new Counter({
    name: 'poolparty_heartbeats_sent_total',
    help: 'Heartbeats this agent published on the pool gossip topic.',
    registers,
  });
  const heartbeatsReceived = new Counter({
    name: 'poolparty_heartbeats_received_total',
    help: 'Heartbeats from other members that passed validation and updated membership.',
    registers,
  });
  const heartbeatsRejected = new Counter({
    name: 'poolparty_heartbeats_rejected_total',
    help: 'Heartbeats from other members that were refused, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const gossipBytes = new Counter({
    name: 'poolparty_gossip_bytes_total',
    help: 'Bytes of pool gossip payload received (in) and published (out) by this agent.',
    labelNames: ['direction'] as const,
    registers,
  });
  const eventLoopLag = new Gauge({
    name: 'poolparty_event_loop_lag_seconds',
    help: 'Largest delay of the agent beat (1 s timer) beyond its period over its last 15 beats: a stalled event loop.',
    registers,
  });
  const metricSourceErrors = new Counter({
    name: 'poolparty_metric_source_errors_total',
    help: 'Failed samples of a load metric source (command, file or http), by metric name.',
    labelNames: ['metric'] as const,
    registers,
  });
  const memberEvents = new Counter({
    name: 'poolparty_member_events_total',
    help: 'Membership events emitted by this agent (joined, suspect, dead, left, recovered, removed), by type.',
    labelNames: ['type'] as const,
    registers,
  });
  new Gauge({
    name: 'poolparty_members',
    help: 'Members of the pool as seen by this agent (self included), by membership state.',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const counts = opts.membersByState();
      for (const state of Object.keys(MEMBER_STATES) as MemberState[]) this.set({ state }, counts[state] ?? 0);
    },
  });

  const leaderTerm = new Gauge({
    name: 'poolparty_leader_term',
    help: 'Term of the leader this agent follows (0 before any leader is known).',
    registers,
  });
  const isLeader = new Gauge({
    name: 'poolparty_is_leader',
    help: '1 while this agent is the pool leader, else 0.',
    registers,
  });
  const leaseHeld = new Gauge({
    name: 'poolparty_lease_held',
    help: '1 while this agent leads with a quorum lease (a majority acknowledged its term), else 0.',
    registers,
  });
  const leaderChanges = new Counter({
    name: 'poolparty_leader_changes_total',
    help: 'Times this agent saw the leader change (elected, lost or stepped down).',
    registers,
  });
  leaderTerm.set(0);
  isLeader.set(0);
  leaseHeld.set(0);

  // Series that exist from the first scrape make rate() and absent() alerts behave.
  gossipBytes.inc({ direction: 'in' }, 0);
  gossipBytes.inc({ direction: 'out' }, 0);
  for (const type of Object.keys(MEMBER_EVENT_TYPES)) memberEvents.inc({ type }, 0);

  // prom-client's event-loop lag histogram samples every 10 ms by default: a libuv timer that woke
  // an idle agent 100 times a second (most of its context switches and idle CPU). Once a second
  // still shows a stall (a 2 s stall reads as ~1-2 s of lag) at 1 wake/s.
  collectDefaultMetrics({ register: registry, prefix: 'poolparty_', eventLoopMonitoringPrecision: 1000 });
  // prom-client names a few default gauges *_total (nodejs_active_handles_total, ...), which
  // Prometheus naming rules (and `promtool check metrics`) reserve for counters: drop them.
  for (const metric of registry.getMetricsAsArray()) {
    if (metric.name.endsWith('_total') && !(metric instanceof Counter)) registry.removeSingleMetric(metric.name);
  }

  return {
    registry,
    heartbeatsSent,
    heartbeatsReceived,
    heartbeatsRejected,
    gossipBytes,
    eventLoopLag,
    metricSourceErrors,
    memberEvents,
    leaderTerm,
    isLeader,
    leaseHeld,
    leaderChanges,
  };
}
