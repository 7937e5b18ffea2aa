import { ensureIdentity } from '../shared/identity.ts';
import { readPoolKey } from '../shared/pool-key.ts';
import type { RemoterBase } from '../shared/remoter/types.ts';
import { VERSION } from '../shared/version.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import type { ClusterView, HealthView, StatsView } from '../shared/wire/cluster.ts';
import { type ControlMessage, controlTopic, type Heartbeat } from '../shared/wire/heartbeat.ts';
import { BundleManager } from './bundle/manager.ts';
import { bundleSources } from './bundle/sources.ts';
import { BundleStore } from './bundle/store.ts';
import { clusterView, selfRecord } from './cluster-view.ts';
import { configureNode } from './configure/configure.ts';
import { ControlRouter } from './control.ts';
import { EventHub } from './events.ts';
import { GossipChannel } from './gossip.ts';
import { holdsLease } from './leadership/lease.ts';
import { Leadership } from './leadership.ts';
import { LoadExchange } from './load/exchange.ts';
import { Membership } from './membership/membership.ts';
import { swimConfigOf } from './membership/swim-config.ts';
import { MetricSampler } from './metrics/sampler.ts';
import { type AgentMetrics, createAgentMetrics } from './monitor/prom.ts';
import { MonitorServer } from './monitor/server.ts';
import { createPoolNode, type PoolNode } from './p2p/node.ts';
import { Retirement } from './retirement.ts';
import { createAgentScaler } from './scaler/for-agent.ts';
import { ActionLedger } from './scaler/ledger.ts';
import type { PoolScaler } from './scaler/pool-scaler.ts';
import type { ControlDraft } from './scaler/scaler.ts';
import { buildMonitor } from './views.ts';

/** Structured log sink (agent/main.ts provides one writing JSON lines). */
export interface AgentLog {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface AgentDeps {
  log: AgentLog;
  /** Epoch ms. */
  now?: () => number;
  /**
   * Provider override (tests): the own cloud's, or one per cloud of the pool; default: each
   * cloud's remoter base from config.scaling.definition.
   */
  remoter?: RemoterBase | ((cloud: string) => RemoterBase | undefined);
}

/**
 * The composition root of one agent: it builds the components (libp2p node, membership, load
 * exchange, control channel, leadership, scaler, bundles, sampler, monitor), wires them to each
 * other through narrow callbacks, and starts and stops them in order. Behaviour lives in the
 * components. Several agents can live in one process (tests, benchmarks).
 */
export class Agent {
  readonly config: AgentConfig;
  readonly events = new EventHub();
  readonly ledger = new ActionLedger();
  readonly #log: AgentLog;
  readonly #now: () => number;
  readonly #remoter: AgentDeps['remoter'];
  #node: PoolNode | undefined;
  #membership: Membership | undefined;
  #load: LoadExchange | undefined;
  #control: GossipChannel | undefined;
  #router: ControlRouter | undefined;
  #leadership: Leadership | undefined;
  #scaler: PoolScaler | undefined;
  #bundles: BundleManager | undefined;
  #sampler: MetricSampler | undefined;
  #monitor: MonitorServer | undefined;
  #metrics: AgentMetrics | undefined;
  #retirement: Retirement | undefined;
  #timers: NodeJS.Timeout[] = [];
  readonly #stopping = new AbortController();
  #peerId = '';
  #startedAt = 0;
  #seq = 0;
  #running = false;

  constructor(config: AgentConfig, deps: AgentDeps) {
    this.config = config;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
    this.#remoter = deps.remoter;
  }

  get peerId(): string {
    return this.#peerId;
  }

  get multiaddrs(): string[] {
    return this.#node?.getMultiaddrs().map(String) ?? [];
  }

  /** The monitor URL others should use: the configured one, or the bound address for port 0. */
  get monitorUrl(): string {
    const { port, url } = this.config.monitor;
    if (port !== 0 && url) return url;
    try {
      return this.#monitor?.url ?? url;
    } catch {
      return url;
    }
  }

  get leadership(): Leadership | undefined {
    return this.#leadership;
  }

  get scaler(): PoolScaler | undefined {
    return this.#scaler;
  }

  get bundles(): BundleManager | undefined {
    return this.#bundles;
  }

  get retired(): boolean {
    return this.#retirement?.retired ?? false;
  }

  connectedPeers(): string[] {
    return [...new Set(this.#node?.getConnections().map((c) => c.remotePeer.toString()) ?? [])];
  }

  async start(): Promise<void> {
    const c = this.config;
    const t = c.tunables;
    const now = this.#now;
    this.#startedAt = now();
    this.#seq = this.#startedAt;
    const [{ privateKey, peerId, created }, poolKey] = await Promise.all([
      ensureIdentity(c.dataDir),
      readPoolKey(c.poolKeyFile),
    ]);
    this.#peerId = peerId;
    this.#log.info('identity', { peerId, created });

    const metrics = createAgentMetrics({ membersByState: () => this.#countByState() });
    this.#metrics = metrics;
    this.events.subscribe((e) => {
      if (e.type.startsWith('member-')) metrics.memberEvents.inc({ type: e.type });
      const { type, ...fields } = e;
      this.#log.info(type, fields);
    });
    const leadership = new Leadership({
      selfPeerId: () => peerId,
      startedAt: this.#startedAt,
      settleAfter: t.suspectAfter,
      // Views of who died converge within about a probe period: one claim per failover.
      claimDelay: t.heartbeatInterval,
      leaseTimeout: 3 * t.loadInterval,
      onRefused: (r) => this.#log.warn('term-refused', { from: r.peerId, term: r.term }),
    });
    this.#leadership = leadership;
    const sampler = new MetricSampler({
      sampleInterval: t.sampleInterval,
      sources: c.metrics,
      onError: (metric, error) => {
        metrics.metricSourceErrors.inc({ metric });
        this.#log.warn('metric-source-error', { metric, error });
      },
    });
    this.#sampler = sampler;
    const node = await createPoolNode({
      privateKey,
      poolKey,
      listen: c.listen,
      maxConnections: t.maxConnections,
      maxMessageBytes: t.maxMessageBytes,
    });
    this.#node = node;
    const onReject = (reason: string, detail: string) => {
      metrics.heartbeatsRejected.inc({ reason });
      if (reason !== 'stale') this.#log.warn('message-rejected', { reason, detail });
    };
    const onBytes = (direction: 'in' | 'out', bytes: number) => metrics.gossipBytes.inc({ direction }, bytes);
    const membership = new Membership({
      node,
      pool: c.pool,
      self: peerId,
      swim: swimConfigOf(t),
      now,
      bootstrap: c.bootstrap,
      record: () => this.#record(),
      maxMessageBytes: t.maxMessageBytes,
      onFrame: (from, frame) => this.#load?.onReport(from, frame),
      onEvent: (e) => {
        if (e.type === 'member-removed') this.#load?.book.forget(e.peerId);
        this.events.emit(e);
      },
      onReject,
      onBytes,
      log: (msg, fields) => this.#log.debug(msg, fields),
      protect: () => {
        const leader = leadership.leader?.peerId;
        return leader && leader !== peerId ? [leader] : [];
      },
      maxConnections: t.maxConnections,
    });
    this.#membership = membership;
    this.#load = new LoadExchange({
      self: () => peerId,
      now,
      loadInterval: t.loadInterval,
      leader: () => (this.retired ? null : leadership.leader),
      metrics: () => sampler.values(),
      send: (to, frame) => membership.send(to, frame),
      publishSummary: (draft) => this.publishControl(draft),
      memberIds: () => [...membership.known()].filter((m) => m.liveness.state !== 'left').map((m) => m.record.peerId),
      maxMembers: 10_000,
    });
    this.#scaler = createAgentScaler({
      config: c,
      ledger: this.ledger,
      now,
      metrics,
      leads: () => this.#actingTerm(),
      selfPeerId: () => peerId,
      retireSelf: (reason, term) => void this.retire(reason, term),
      members: () => this.cluster().members,
      publish: (msg) => this.publishControl(msg),
      emit: (e) => this.events.emit(e),
      log: (msg, fields) => this.#log.info(msg, fields),
      remoter: this.#remoter,
      bundleHash: () => this.#bundles?.desiredForNewMembers(),
    });
    this.#router = new ControlRouter({
      self: () => peerId,
      now,
      leadership,
      ledger: this.ledger,
      load: this.#load,
      retire: (reason, term) => void this.retire(reason, term),
      log: (msg, fields) => this.#log.warn(msg, fields),
    });
    this.#control = new GossipChannel({
      pubsub: node.services.pubsub,
      topic: controlTopic(c.pool),
      types: new Set(['intent', 'outcome', 'retire', 'summary', 'stopping']),
      maxMessageBytes: t.maxMessageBytes,
      isFresh: () => true,
      onMessage: (msg) => {
        this.#router?.receive(msg as ControlMessage);
        return undefined;
      },
      onReject,
      onBytes,
    });
    this.#bundles = new BundleManager({
      node,
      store: new BundleStore(c.dataDir),
      now,
      selfPeerId: () => peerId,
      cloud: c.cloud,
      leading: () => !this.retired && leadership.leads !== null,
      leaderHeartbeat: () => {
        const leader = leadership.leader;
        return leader && leader.peerId !== peerId ? (membership.record(leader.peerId) ?? null) : null;
      },
      peers: () => this.#aliveRecords(),
      configure: (bundleDir) =>
        configureNode({
          bundleDir,
          timeout: t.applyTimeout,
          onLog: ({ source, stream, line }) => this.#log.info('configure-log', { source, stream, line }),
        }),
      emit: (e) => this.events.emit(e),
      log: (msg, fields) => this.#log.info(msg, fields),
      maxBytes: t.maxBundleBytes,
      maxUnavailable: t.maxUnavailable,
      ...(c.bundle ? { initial: c.bundle.sha256 } : {}),
      sources: bundleSources(c, this.#stopping.signal),
    });
    this.#retirement = new Retirement({
      config: c,
      self: () => peerId,
      now,
      leadership,
      bundles: this.#bundles,
      events: this.events,
      log: (msg, fields) => this.#log.info(msg, fields),
      announce: () => membership.refreshRecord(),
      leave: () => membership.stop({ leave: true, grace: t.leaveGrace }),
    });

    await sampler.start();
    await node.start();
    await this.#bundles.start();
    this.#control.start();
    this.#running = true;
    await membership.start();
    this.#load.start();
    this.#monitor = new MonitorServer(buildMonitor(this, metrics.registry), {
      host: c.monitor.host,
      port: c.monitor.port,
    });
    await this.#monitor.start();
    // The monitor's bound URL is part of the record: announce it now that it is known.
    membership.refreshRecord();

    this.#every(Math.min(250, Math.max(50, Math.floor(t.heartbeatInterval / 4))), () => this.#elect());
    this.#every(Math.min(1000, t.heartbeatInterval), () => this.#bundles?.tick());
    // Every cloud's scaler on its own interval: ticks at the shortest, each steps when due.
    if (this.#scaler && c.scaling) this.#every(this.#scaler.interval, () => this.#scaler?.step(now()));
    this.#log.info('agent-started', {
      peerId,
      pool: c.pool,
      cloud: c.cloud,
      instanceId: c.instanceId,
      listen: this.multiaddrs,
      monitor: this.monitorUrl,
      version: VERSION,
    });
  }

  /** Stops the agent; with `leave` (the default, as on SIGTERM) it first announces a graceful leave. */
  async stop(opts: { leave?: boolean } = {}): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#stopping.abort(new Error('agent stopping'));
    const leave = opts.leave !== false && !this.retired;
    await this.#membership?.stop({ leave, grace: this.config.tunables.leaveGrace });
    this.#load?.stop();
    this.events.flush();
    await this.#monitor?.stop();
    this.#control?.stop();
    await this.#bundles?.stop();
    await this.#sampler?.stop();
    await this.#node?.stop();
    this.#log.info('agent-stopped', { peerId: this.#peerId, left: opts.leave !== false });
  }

  /** Drains this node before its instance is terminated (hooks, hand-over, leave). */
  async retire(reason: string, term: number): Promise<void> {
    await this.#retirement?.retire(reason, term);
  }

  health(): HealthView {
    return {
      status: 'ok',
      peerId: this.#peerId,
      instanceId: this.config.instanceId,
      uptimeS: Math.round((this.#now() - this.#startedAt) / 1000),
    };
  }

  stats(): StatsView {
    return {
      peerId: this.#peerId,
      instanceId: this.config.instanceId,
      cloud: this.config.cloud,
      metrics: this.#sampler?.readings() ?? {},
    };
  }

  cluster(): ClusterView {
    return clusterView({
      pool: this.config.pool,
      self: this.retired ? null : { ...this.#record(), seq: 0, metrics: this.#sampler?.values() ?? {} },
      selfId: this.#peerId,
      now: this.#now(),
      leader: this.#leadership?.leader ?? null,
      members: this.#membership ? [...this.#membership.known()] : [],
      load: this.#load?.book,
    });
  }

  /** Publishes a control message (intent, outcome, retire, summary) signed as this agent. */
  async publishControl(draft: ControlDraft | Omit<ControlMessage, 'v' | 'peerId' | 'seq'>): Promise<void> {
    if (!this.#control) return;
    const msg = { ...draft, v: 2, peerId: this.#peerId, seq: ++this.#seq } as ControlMessage;
    await this.#control
      .publish(msg)
      .catch((err: Error) => this.#log.warn('control-publish-failed', { error: err.message }));
  }

  #record(): Omit<Heartbeat, 'seq' | 'metrics'> {
    return selfRecord({
      peerId: this.#peerId,
      config: this.config,
      addrs: this.#node?.getMultiaddrs() ?? [],
      monitor: this.monitorUrl,
      startedAt: this.#startedAt,
      leadership: this.#leadership?.heartbeatFields() ?? {},
      bundles: this.#bundles?.heartbeatFields() ?? {},
    });
  }

  #aliveRecords(): Heartbeat[] {
    const out: Heartbeat[] = [];
    for (const m of this.#membership?.known() ?? []) if (m.liveness.state === 'alive') out.push(m.record);
    return out;
  }

  /** The term this node may act in: it leads, is not retiring, and holds the quorum lease. */
  #actingTerm(): number | null {
    const term = this.#leadership?.leads ?? null;
    if (term === null || this.retired || !this.#running || this.#router?.stopping) return null;
    return this.#leaseHeld(term) ? term : null;
  }

  /** Whether this node, leading `term`, holds the quorum lease (the election's CheckQuorum reads it too). */
  #leaseHeld(term: number): boolean {
    let members = 1;
    for (const m of this.#membership?.known() ?? [])
      if (m.liveness.state === 'alive' || m.liveness.state === 'suspect') members++;
    const within = 3 * this.config.tunables.loadInterval;
    const ackers = this.#load?.book.ackers(term, this.#now(), within).length ?? 0;
    // Not snapshot(): it asks who leads, which is this very question.
    const listed = this.#scaler?.counted ?? 0;
    const held = holdsLease({ ackers, members, listed });
    this.#metrics?.leaseHeld.set(held ? 1 : 0);
    return held;
  }

  #elect(): void {
    const leadership = this.#leadership;
    if (!leadership || this.retired || !this.#membership) return;
    const suspect: Heartbeat[] = [];
    for (const m of this.#membership.known()) if (m.liveness.state === 'suspect') suspect.push(m.record);
    const term = leadership.leads;
    const leaseHeld = term !== null && this.#leaseHeld(term);
    for (const e of leadership.step(this.#aliveRecords(), this.#now(), { leaseHeld, suspect })) {
      this.#metrics?.leaderChanges.inc();
      this.events.emit(e);
      // Announce a new claim at once (faster failover) instead of at the next record check.
      this.#membership.refreshRecord();
    }
    this.#metrics?.leaderTerm.set(leadership.leader?.term ?? 0);
    this.#metrics?.isLeader.set(leadership.leads === null ? 0 : 1);
  }

  #countByState() {
    const counts = { alive: 0, suspect: 0, dead: 0, left: 0 };
    for (const m of this.#membership?.known() ?? []) counts[m.liveness.state]++;
    if (this.#running && !this.retired) counts.alive++;
    return counts;
  }

  #every(ms: number, fn: () => unknown): void {
    const timer = setInterval(() => {
      try {
        const r = fn();
        if (r instanceof Promise) r.catch((err: Error) => this.#log.error('timer-failed', { error: err.message }));
      } catch (err) {
        this.#log.error('timer-failed', { error: (err as Error).message });
      }
    }, ms);
    this.#timers.push(timer);
  }
}
