import type { PrivateKey } from '@libp2p/interface';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import type { ClusterView } from '../shared/wire/cluster.ts';
import { type ControlMessage, controlTopic, type Heartbeat } from '../shared/wire/heartbeat.ts';
import { BundleManager } from './bundle/manager.ts';
import { bundleSources } from './bundle/sources.ts';
import { BundleStore } from './bundle/store.ts';
import { clusterView, selfRecord } from './cluster-view.ts';
import { configureNode } from './configure/configure.ts';
import { ControlRouter } from './control.ts';
import type { EventHub } from './events.ts';
import { GossipChannel } from './gossip.ts';
import { LeaderDuty } from './leadership/duty.ts';
import { Leadership } from './leadership.ts';
import { type Component, component, ticker } from './lifecycle.ts';
import { LoadExchange } from './load/exchange.ts';
import { Membership } from './membership/membership.ts';
import { swimConfigOf } from './membership/swim-config.ts';
import { MetricSampler } from './metrics/sampler.ts';
import { type AgentMetrics, createAgentMetrics } from './monitor/prom.ts';
import { MonitorServer } from './monitor/server.ts';
import { createPoolNode, type PoolNode } from './p2p/node.ts';
import { Retirement } from './retirement.ts';
import { createAgentScaler } from './scaler/for-agent.ts';
import type { ActionLedger } from './scaler/ledger.ts';
import type { PoolScaler } from './scaler/pool-scaler.ts';
import type { ControlDraft } from './scaler/scaler.ts';
import type { AgentDeps, AgentLog } from './types.ts';
import { type AgentReadModel, buildMonitor } from './views.ts';

export interface ComposeInput {
  config: AgentConfig;
  peerId: string;
  privateKey: PrivateKey;
  poolKey: Uint8Array;
  startedAt: number;
  now: () => number;
  log: AgentLog;
  events: EventHub;
  ledger: ActionLedger;
  remoter: AgentDeps['remoter'];
  /** What the monitor serves: the agent facade (built before the parts exist, read after). */
  readModel: () => AgentReadModel;
}

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
  /** In start order; stopped in reverse. */
  components: Component[];
  monitorUrl(): string;
  record(): Omit<Heartbeat, 'seq' | 'metrics'>;
  cluster(): ClusterView;
  publishControl(draft: ControlDraft | Omit<ControlMessage, 'v' | 'peerId' | 'seq'>): Promise<void>;
  /** Announces a graceful leave (before the components stop). */
  leave(grace: number): Promise<void>;
}

/**
 * Builds an agent's components and wires them to each other through narrow callbacks. Nothing
 * starts here: the caller starts `components` in order.
 */
export async function composeAgent(i: ComposeInput): Promise<AgentParts> {
  const { config: c, peerId, now, log, events } = i;
  const t = c.tunables;
  let seq = i.startedAt;
  let running = false;
  const stopping = new AbortController();

  const metrics = createAgentMetrics({ membersByState: () => countByState() });
  events.subscribe((e) => {
    if (e.type.startsWith('member-')) metrics.memberEvents.inc({ type: e.type });
    const { type, ...fields } = e;
    log.info(type, fields);
  });
  const onError = (name: string, err: Error) => log.error('timer-failed', { component: name, error: err.message });
  const node = await createPoolNode({
    privateKey: i.privateKey,
    poolKey: i.poolKey,
    listen: c.listen,
    maxConnections: t.maxConnections,
    maxMessageBytes: t.maxMessageBytes,
  });
  const onReject = (reason: string, detail: string) => {
    metrics.heartbeatsRejected.inc({ reason });
    if (reason !== 'stale') log.warn('message-rejected', { reason, detail });
  };
  const onBytes = (direction: 'in' | 'out', bytes: number) => metrics.gossipBytes.inc({ direction }, bytes);

  const leadership = new Leadership({
    selfPeerId: () => peerId,
    startedAt: i.startedAt,
    settleAfter: t.suspectAfter,
    // Views of who died converge within about a probe period: one claim per failover.
    claimDelay: t.heartbeatInterval,
    leaseTimeout: 3 * t.loadInterval,
    onRefused: (r) => log.warn('term-refused', { from: r.peerId, term: r.term }),
  });
  const sampler = new MetricSampler({
    sampleInterval: t.sampleInterval,
    sources: c.metrics,
    onError: (metric, error) => {
      metrics.metricSourceErrors.inc({ metric });
      log.warn('metric-source-error', { metric, error });
    },
  });
  const membership: Membership = new Membership({
    node,
    pool: c.pool,
    self: peerId,
    swim: swimConfigOf(t),
    now,
    bootstrap: c.bootstrap,
    record: () => record(),
    maxMessageBytes: t.maxMessageBytes,
    onFrame: (from, frame) => load.onReport(from, frame),
    onEvent: (e) => {
      if (e.type === 'member-removed') load.book.forget(e.peerId);
      events.emit(e);
    },
    onReject,
    onBytes,
    log: (msg, fields) => log.debug(msg, fields),
    protect: () => {
      const leader = leadership.leader?.peerId;
      return leader && leader !== peerId ? [leader] : [];
    },
    maxConnections: t.maxConnections,
  });
  const load: LoadExchange = new LoadExchange({
    self: () => peerId,
    now,
    loadInterval: t.loadInterval,
    leader: () => (retirement.retired ? null : leadership.leader),
    metrics: () => sampler.values(),
    send: (to, frame) => membership.send(to, frame),
    publishSummary: (draft) => publishControl(draft),
    memberIds: () => [...membership.known()].filter((m) => m.liveness.state !== 'left').map((m) => m.record.peerId),
    maxMembers: 10_000,
  });
  const duty: LeaderDuty = new LeaderDuty({
    leadership,
    now,
    members: () => membership.known(),
    load: load.book,
    counted: () => scaler?.counted ?? 0,
    leaseTimeout: 3 * t.loadInterval,
    barred: () => retirement.retired || !running || router.stopping,
    metrics,
    emit: (e) => events.emit(e),
    announce: () => membership.refreshRecord(),
  });
  const scaler = createAgentScaler({
    config: c,
    ledger: i.ledger,
    now,
    metrics,
    leads: () => duty.actingTerm(),
    leaseHeldFor: () => duty.leaseHeldFor(),
    selfPeerId: () => peerId,
    retireSelf: (reason, term) => void retirement.retire(reason, term),
    members: () => cluster().members,
    publish: (msg) => publishControl(msg),
    emit: (e) => events.emit(e),
    log: (msg, fields) => log.info(msg, fields),
    remoter: i.remoter,
    bundleHash: () => bundles.desiredForNewMembers(),
  });
  const router: ControlRouter = new ControlRouter({
    self: () => peerId,
    now,
    leadership,
    ledger: i.ledger,
    load,
    retire: (reason, term) => void retirement.retire(reason, term),
    log: (msg, fields) => log.warn(msg, fields),
  });
  const control = new GossipChannel({
    pubsub: node.services.pubsub,
    topic: controlTopic(c.pool),
    types: new Set(['intent', 'outcome', 'retire', 'summary', 'stopping']),
    maxMessageBytes: t.maxMessageBytes,
    isFresh: () => true,
    onMessage: (msg) => {
      router.receive(msg as ControlMessage);
      return undefined;
    },
    onReject,
    onBytes,
  });
  // A suspect member may be mid-apply: a rollout that forgot it would grant the next one too
  // (seen on a loaded machine: two members applied a bundle meant for one at a time).
  const liveRecords = () => {
    const out: Heartbeat[] = [];
    for (const m of membership.known())
      if (m.liveness.state === 'alive' || m.liveness.state === 'suspect') out.push(m.record);
    return out;
  };
  const bundles: BundleManager = new BundleManager({
    node,
    store: new BundleStore(c.dataDir),
    now,
    selfPeerId: () => peerId,
    cloud: c.cloud,
    leading: () => !retirement.retired && leadership.leads !== null,
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
    emit: (e) => events.emit(e),
    log: (msg, fields) => log.info(msg, fields),
    maxBytes: t.maxBundleBytes,
    maxUnavailable: t.maxUnavailable,
    ...(c.bundle ? { initial: c.bundle.sha256 } : {}),
    sources: bundleSources(c, stopping.signal),
  });
  const retirement: Retirement = new Retirement({
    config: c,
    self: () => peerId,
    now,
    leadership,
    bundles,
    events,
    log: (msg, fields) => log.info(msg, fields),
    announce: () => membership.refreshRecord(),
    leave: () => membership.stop({ leave: true, grace: t.leaveGrace }),
  });
  const monitor = new MonitorServer(buildMonitor(i.readModel(), metrics.registry), {
    host: c.monitor.host,
    port: c.monitor.port,
  });

  const monitorUrl = () => {
    const { port, url } = c.monitor;
    if (port !== 0 && url) return url;
    try {
      return monitor.url;
    } catch {
      return url;
    }
  };
  const record = () =>
    selfRecord({
      peerId,
      config: c,
      addrs: node.getMultiaddrs(),
      monitor: monitorUrl(),
      startedAt: i.startedAt,
      leadership: leadership.heartbeatFields(),
      bundles: bundles.heartbeatFields(),
    });
  const cluster = () =>
    clusterView({
      pool: c.pool,
      self: retirement.retired ? null : { ...record(), seq: 0, metrics: sampler.values() },
      selfId: peerId,
      now: now(),
      leader: leadership.leader,
      members: [...membership.known()],
      load: load.book,
    });
  const publishControl = async (draft: ControlDraft | Omit<ControlMessage, 'v' | 'peerId' | 'seq'>) => {
    if (!running) return;
    const msg = { ...draft, v: 2, peerId, seq: ++seq } as ControlMessage;
    await control.publish(msg).catch((err: Error) => log.warn('control-publish-failed', { error: err.message }));
  };
  const countByState = () => {
    const counts = { alive: 0, suspect: 0, dead: 0, left: 0 };
    for (const m of membership.known()) counts[m.liveness.state]++;
    if (running && !retirement.retired) counts.alive++;
    return counts;
  };

  const components: Component[] = [
    component(
      'sampler',
      () => sampler.start(),
      () => sampler.stop(),
    ),
    component(
      'p2p',
      () => node.start(),
      () => node.stop(),
    ),
    component(
      'bundles',
      () => bundles.start(),
      () => bundles.stop(),
    ),
    component(
      'control',
      () => control.start(),
      () => control.stop(),
    ),
    component(
      'running',
      () => {
        running = true;
      },
      () => {
        running = false;
        stopping.abort(new Error('agent stopping'));
      },
    ),
    component(
      'membership',
      () => membership.start(),
      // A retired agent already left; else the facade's stop decides (leave or not) first.
      () => membership.stop({ leave: false, grace: 0 }),
    ),
    component(
      'load',
      () => load.start(),
      () => load.stop(),
    ),
    component(
      'monitor',
      async () => {
        await monitor.start();
        // The monitor's bound URL is part of the record: announce it now that it is known.
        membership.refreshRecord();
      },
      () => monitor.stop(),
    ),
    ticker('election', Math.min(250, Math.max(50, Math.floor(t.heartbeatInterval / 4))), () => duty.step(), onError),
    ticker('bundles', Math.min(1000, t.heartbeatInterval), () => bundles.tick(), onError),
    // Every cloud's scaler on its own interval: ticks at the shortest, each steps when due.
    ...(scaler && c.scaling ? [ticker('scaling', scaler.interval, () => scaler.step(now()), onError)] : []),
  ];
  return {
    node,
    metrics,
    leadership,
    scaler,
    bundles,
    sampler,
    monitor,
    retirement,
    components,
    monitorUrl,
    record,
    cluster,
    publishControl,
    leave: (grace: number) => membership.stop({ leave: true, grace }),
  };
}
