import type { PrivateKey } from '@libp2p/interface';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import type { ClusterView } from '../shared/wire/cluster.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';
import { Beat } from './beat.ts';
import type { BundleManager } from './bundle/manager.ts';
import { buildBundles } from './compose/bundles.ts';
import { agentComponents, runFlag } from './compose/components.ts';
import { buildControl, type ControlPublish } from './compose/control.ts';
import { buildDashboard } from './compose/dashboard.ts';
import { buildDuty, buildLeadership, buildStepClock, buildWaitOut } from './compose/leadership.ts';
import { leveled, RETIREMENT_LEVELS, SCALER_LEVELS } from './compose/log-levels.ts';
import { buildMembers } from './compose/members.ts';
import { buildSampler, telemetry } from './compose/telemetry.ts';
import { buildUpgrade, upgradeRoute } from './compose/upgrade.ts';
import { agentViews } from './compose/views.ts';
import type { EventHub } from './events.ts';
import type { Leadership } from './leadership.ts';
import type { Component } from './lifecycle.ts';
import type { SwimCounts } from './membership/swim/counts.ts';
import type { MetricSampler } from './metrics/sampler.ts';
import { metricsReply } from './monitor/app.ts';
import type { HistoryRecorder } from './monitor/history.ts';
import type { AgentMetrics } from './monitor/prom.ts';
import { RecentMax } from './monitor/recent-max.ts';
import { MonitorServer } from './monitor/server.ts';
import { createPoolNode, type PoolNode } from './p2p/node.ts';
import { Retirement } from './retirement.ts';
import { createAgentScaler } from './scaler/for-agent.ts';
import type { ActionLedger } from './scaler/ledger.ts';
import type { PoolScaler } from './scaler/pool-scaler.ts';
import type { AgentDeps, AgentLog } from './types.ts';
import { type AgentReadModel, buildMonitor } from './views.ts';

export interface ComposeInput {
  config: AgentConfig;
  peerId: string;
  privateKey: PrivateKey;
  poolKey: Uint8Array;
  startedAt: number;
  /** This agent's identity existed before this start (a restart, not a new instance). */
  restarted?: boolean;
  now: () => number;
  log: AgentLog;
  events: EventHub;
  ledger: ActionLedger;
  remoter: AgentDeps['remoter'];
  /** What the monitor serves: the agent facade (built before the parts exist, read after). */
  readModel: () => AgentReadModel;
}

/** Beats the loop-lag gauge keeps its worst of (15 s at the 1 s beat: a scrape interval). */
const LAG_BEATS = 15;

/** The parts of a running agent, and the few functions the facade answers with. */
export interface AgentParts {
  node: PoolNode;
  metrics: AgentMetrics;
  leadership: Leadership;
  scaler: PoolScaler | undefined;
  bundles: BundleManager;
  sampler: MetricSampler;
  monitor: MonitorServer;
  retirement: Retirement;
  history: HistoryRecorder;
  /** In start order; stopped in reverse. */
  components: Component[];
  monitorUrl(): string;
  record(): Omit<Heartbeat, 'seq' | 'metrics'>;
  cluster(): ClusterView;
  publishControl: ControlPublish;
  /** Announces a graceful leave (before the components stop). */
  leave(grace: number): Promise<void>;
  /** What the membership core did so far (benchmarks). */
  swimCounts(): SwimCounts;
}

/**
 * Builds an agent's components and wires them to each other through narrow callbacks (groups of
 * them are built in compose/). Nothing starts here: the caller starts `components` in order.
 */
export async function composeAgent(i: ComposeInput): Promise<AgentParts> {
  const { config: c, peerId, now, log, events } = i;
  const t = c.tunables;
  const run = runFlag();
  // Set when the agent begins its graceful leave (SIGTERM): from then on it neither claims nor acts.
  let leaving = false;
  const tel = telemetry(log, events, () => views.countByState(), now);
  const node = await createPoolNode({
    privateKey: i.privateKey,
    poolKey: i.poolKey,
    listen: c.listen,
    maxConnections: t.maxConnections,
    maxMessageBytes: t.maxMessageBytes,
  });
  const leadership = buildLeadership({ config: c, peerId, startedAt: i.startedAt, log });
  // One timer for the agent's periodic work of whole seconds (agent/beat.ts): a timer of its own
  // for each woke an idle agent at its own moment.
  // The loop-lag gauge: the worst beat of the last LAG_BEATS (monitor/recent-max.ts).
  const lagWindow = new RecentMax(LAG_BEATS);
  const beat = new Beat(
    Math.min(1000, t.heartbeatInterval),
    (err) => tel.onError('beat', err),
    (lag) => tel.metrics.eventLoopLag.set(lagWindow.add(lag) / 1000),
  );
  const sampler = buildSampler(c, tel, log, beat.repeat);
  // What most groups of components are built from (compose/wiring.ts).
  const common = { config: c, peerId, startedAt: i.startedAt, now, log, events, node, leadership, telemetry: tel };
  // When the duty below steps: on a change of the membership view, and on a beat while time moves it.
  const election = buildStepClock(common, () => duty.step(), tel.onError);
  // No acknowledgement of a new leader (nor its own count as one) before the last one's lease is over.
  const waitOut = buildWaitOut({ ...common, restarted: i.restarted === true });
  const { membership, load } = buildMembers({
    ...common,
    sampler,
    privateKey: i.privateKey,
    record: () => views.record(),
    retired: () => retirement.retired,
    windows: () => scaler?.windows() ?? [],
    onViewChange: () => election.poke(),
    waitOut,
    repeat: beat.repeat,
  });
  const duty = buildDuty({
    ...common,
    waitOut,
    members: () => membership.known(),
    load: load.book,
    counted: () => (leadership.leads === null ? 0 : (scaler?.countedIn(leadership.leads) ?? 0)),
    barred: () => leaving || retirement.retired || !run.running() || control.router.stopping,
    announce: () => membership.refreshRecord(),
    // Failover: the scalers step as soon as the lease comes, a follower acknowledges a new leader at once.
    onActing: () => void scaler?.stepNow(now()),
    onFollow: () => void load.tick(),
    // A step-down goes to those who followed us at once, not when gossip brings it (record-push.ts).
    tellFollowers: (peers) => membership.pushRecord(peers),
    // A claim goes to the members next in line at once too: a follower's term is not published.
    tellSuccessors: (peers) => membership.pushRecord(peers),
  });
  const scaler = createAgentScaler({
    config: c,
    ledger: i.ledger,
    now,
    leads: () => duty.actingTerm(),
    leaseHeldFor: () => duty.leaseHeldFor(),
    inherited: () => load.leaderWindows(),
    viewLag: () => load.viewLag(),
    selfPeerId: () => peerId,
    retireSelf: (reason, term) => void retirement.retire(reason, term),
    members: () => views.cluster().members,
    publish: (msg) => control.publish(msg),
    emit: (e) => events.emit(e),
    log: leveled(log, SCALER_LEVELS),
    remoter: i.remoter,
    bundleHash: () => bundles.desiredForNewMembers(),
  });
  const control = buildControl({
    ...common,
    load,
    ledger: i.ledger,
    retire: (reason, term) => void retirement.retire(reason, term),
    running: run.running,
  });
  const bundles = buildBundles({
    ...common,
    membership,
    retired: () => retirement.retired,
    stopping: run.stopping,
  });
  const retirement: Retirement = new Retirement({
    config: c,
    self: () => peerId,
    now,
    leadership,
    bundles,
    events,
    log: leveled(log, RETIREMENT_LEVELS),
    announce: () => membership.refreshRecord(),
    leave: () => membership.stop({ leave: true, grace: t.leaveGrace }),
  });
  const upgrade = buildUpgrade({
    ...common,
    membership,
    retired: () => retirement.retired,
    ready: () => i.readModel().ready().ready,
    duty,
    repeat: beat.repeat,
  });
  const monitor = new MonitorServer(buildMonitor(i.readModel(), tel.metrics.registry, [upgradeRoute(upgrade)]), {
    host: c.monitor.host,
    port: c.monitor.port,
    plain: { '/metrics': metricsReply(tel.metrics.registry) },
  });
  const views = agentViews({
    ...common,
    monitor,
    bundles,
    retirement,
    sampler,
    membership,
    load,
    running: run.running,
  });
  const dashboard = buildDashboard({
    ...common,
    registry: tel.metrics.registry,
    cluster: views.cluster,
    scaling: () => scaler?.snapshot().clouds,
    leads: () => duty.actingTerm() !== null,
    repeat: beat.repeat,
  });

  const components = agentComponents({
    ...common,
    onError: tel.onError,
    run,
    sampler,
    bundles,
    control: control.channel,
    membership,
    load,
    monitor,
    election,
    scaler,
    repeat: beat.repeat,
  });
  components.push(dashboard.history, upgrade);
  return {
    node,
    metrics: tel.metrics,
    leadership,
    scaler,
    bundles,
    sampler,
    monitor,
    retirement,
    history: dashboard.history,
    components,
    monitorUrl: views.monitorUrl,
    record: views.record,
    cluster: views.cluster,
    publishControl: control.publish,
    leave: (grace: number) => {
      // The components run on through the leave (up to 200 ms, then each stops in turn): an agent
      // told to stop had claimed a term and acted in that time (finding L). Its election stops
      // here (no claim, no step-down churn: its record says it left), and it is barred from acting.
      leaving = true;
      election.stop();
      return membership.stop({ leave: true, grace });
    },
    swimCounts: () => membership.counts,
  };
}
