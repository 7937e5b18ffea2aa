import { ensureIdentity } from '../shared/identity.ts';
import { readPoolKey } from '../shared/pool-key.ts';
import type { RemoterBase } from '../shared/remoter/types.ts';
import { VERSION } from '../shared/version.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import {
  type ClusterView,
  type HealthView,
  type MemberView,
  memberBundleField,
  type StatsView,
} from '../shared/wire/cluster.ts';
import {
  type ControlMessage,
  controlTopic,
  type Heartbeat,
  heartbeatTopic,
  type Retire,
  type WireMessage,
} from '../shared/wire/heartbeat.ts';
import { BundleManager, type BundleSource } from './bundle/manager.ts';
import { BundleStore } from './bundle/store.ts';
import { configureNode } from './configure/configure.ts';
import { runHook } from './configure/hooks.ts';
import { Dialer } from './discovery.ts';
import { EventHub } from './events.ts';
import { GossipChannel } from './gossip.ts';
import { Leadership } from './leadership.ts';
import { MembershipView } from './membership/view.ts';
import { MetricSampler } from './metrics/sampler.ts';
import { type AgentMetrics, createAgentMetrics } from './monitor/prom.ts';
import { MonitorServer } from './monitor/server.ts';
import { createPoolNode, type PoolNode } from './p2p/node.ts';
import { createAgentScaler } from './scaler/for-agent.ts';
import { ActionLedger } from './scaler/ledger.ts';
import type { ControlDraft, Scaler } from './scaler/scaler.ts';
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
  /** Provider override (tests); default: the cloud's remoter base from config.scaling. */
  remoter?: RemoterBase;
}

/**
 * The composition root of one agent: it owns the libp2p node, the heartbeat and control
 * channels, the membership view, the election, the scaler, metric sampling and the monitor, and
 * starts and stops them in order. Several agents can live in one process (tests, benchmarks).
 */
export class Agent {
  readonly config: AgentConfig;
  readonly events = new EventHub();
  readonly ledger = new ActionLedger();
  readonly #log: AgentLog;
  readonly #now: () => number;
  readonly #membership: MembershipView;
  readonly #tickInterval: number;
  #leadership: Leadership | undefined;
  #scaler: Scaler | undefined;
  readonly #remoter: RemoterBase | undefined;
  #node: PoolNode | undefined;
  #heartbeats: GossipChannel | undefined;
  #control: GossipChannel | undefined;
  #dialer: Dialer | undefined;
  #bundles: BundleManager | undefined;
  #sampler: MetricSampler | undefined;
  #monitor: MonitorServer | undefined;
  #metrics: AgentMetrics | undefined;
  #timers: NodeJS.Timeout[] = [];
  /** Aborted on stop: ends transfers still running (an SFTP pull may take up to a minute). */
  readonly #stopping = new AbortController();
  #peerId = '';
  #startedAt = 0;
  #seq = 0;
  #running = false;
  #retired = false;
  #lastTickAt = 0;

  constructor(config: AgentConfig, deps: AgentDeps) {
    this.config = config;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
    this.#remoter = deps.remoter;
    const t = config.tunables;
    // Ticks several times per heartbeat so state changes surface within a fraction of an interval.
    this.#tickInterval = Math.min(250, Math.max(50, Math.floor(t.heartbeatInterval / 4)));
    this.#membership = new MembershipView({
      suspectAfter: t.suspectAfter,
      deadAfter: t.deadAfter,
      reapAfter: t.reapAfter,
      tickInterval: this.#tickInterval,
      stallThreshold: t.stallThreshold,
    });
  }

  get peerId(): string {
    return this.#peerId;
  }

  /** Multiaddrs this agent listens on, with /p2p/<peerId>. */
  get multiaddrs(): string[] {
    return this.#node?.getMultiaddrs().map(String) ?? [];
  }

  /**
   * The monitor URL other members and the CLI should use: the configured public URL, or the bound
   * address when the config asked for port 0 (tests) or named no URL.
   */
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

  get scaler(): Scaler | undefined {
    return this.#scaler;
  }

  get bundles(): BundleManager | undefined {
    return this.#bundles;
  }

  /** Peer ids this agent has open connections to. */
  connectedPeers(): string[] {
    return [...new Set(this.#node?.getConnections().map((c) => c.remotePeer.toString()) ?? [])];
  }

  async start(): Promise<void> {
    const c = this.config;
    const t = c.tunables;
    this.#startedAt = this.#now();
    // Seeded from the wall clock so a restarted agent's sequence keeps rising for its peers.
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
    this.#leadership = new Leadership({
      selfPeerId: () => this.#peerId,
      startedAt: this.#startedAt,
      settleAfter: t.suspectAfter,
    });
    this.#scaler = createAgentScaler({
      config: c,
      ledger: this.ledger,
      now: this.#now,
      metrics,
      leads: () => (this.#retired || !this.#running ? null : (this.#leadership?.leads ?? null)),
      selfPeerId: () => this.#peerId,
      retireSelf: (reason, term) => void this.retire(reason, term),
      members: () => this.cluster().members,
      publish: (msg) => this.publishControl(msg),
      emit: (e) => this.events.emit(e),
      log: (msg, fields) => this.#log.info(msg, fields),
      remoter: this.#remoter,
      bundleHash: () => this.#bundles?.desiredForNewMembers(),
    });

    this.#sampler = new MetricSampler({
      sampleInterval: t.sampleInterval,
      sources: c.metrics,
      onError: (metric, error) => {
        metrics.metricSourceErrors.inc({ metric });
        this.#log.warn('metric-source-error', { metric, error });
      },
    });

    const node = await createPoolNode({
      privateKey,
      poolKey,
      listen: c.listen,
      maxConnections: t.maxConnections,
      maxMessageBytes: t.maxMessageBytes,
    });
    this.#node = node;
    const channel = (topic: string, types: WireMessage['type'][], isFresh: (peer: string, seq: number) => boolean) =>
      new GossipChannel({
        pubsub: node.services.pubsub,
        topic,
        types: new Set(types),
        maxMessageBytes: t.maxMessageBytes,
        isFresh,
        onMessage: (msg) => this.#receive(msg),
        onReject: (reason, detail) => {
          metrics.heartbeatsRejected.inc({ reason });
          if (reason !== 'stale') this.#log.warn('message-rejected', { topic, reason, detail });
        },
        onBytes: (direction, bytes) => metrics.gossipBytes.inc({ direction }, bytes),
      });
    this.#heartbeats = channel(
      heartbeatTopic(c.pool),
      ['heartbeat', 'leave'],
      (peer, seq) => this.#membership.checkSeq(peer, seq) === 'fresh',
    );
    // Control messages are rare and must not be dropped for arriving out of order with
    // heartbeats; gossipsub's seen-cache already removes exact duplicates.
    this.#control = channel(controlTopic(c.pool), ['intent', 'outcome', 'retire'], () => true);
    this.#dialer = new Dialer({
      target: {
        connectionCount: () => node.getConnections().length,
        isConnected: (peer) => node.getConnections().some((conn) => conn.remotePeer.toString() === peer),
        dial: (addrs) => node.dial(addrs),
      },
      selfPeerId: peerId,
      bootstrap: c.bootstrap,
      minConnections: t.minConnections,
      now: this.#now,
      onError: (what, err) => this.#log.debug('dial-failed', { peer: what, error: err.message }),
    });

    this.#bundles = new BundleManager({
      node,
      store: new BundleStore(c.dataDir),
      now: this.#now,
      selfPeerId: () => this.#peerId,
      cloud: c.cloud,
      leading: () => !this.#retired && this.#leadership?.leads !== null && this.#leadership?.leads !== undefined,
      leaderHeartbeat: () => {
        const leader = this.#leadership?.leader;
        return leader && leader.peerId !== this.#peerId
          ? (this.#membership.get(leader.peerId)?.heartbeat ?? null)
          : null;
      },
      peers: () => this.#membership.aliveHeartbeats(),
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
      sources: this.#bundleSources(),
    });

    await this.#sampler.start();
    await node.start();
    await this.#bundles.start();
    this.#heartbeats.start();
    this.#control.start();
    this.#running = true;

    this.#monitor = new MonitorServer(buildMonitor(this, metrics.registry), {
      host: c.monitor.host,
      port: c.monitor.port,
    });
    await this.#monitor.start();

    this.#every(t.heartbeatInterval, () => this.#sendHeartbeat());
    this.#every(this.#tickInterval, () => this.#tick());
    this.#every(Math.max(500, t.heartbeatInterval), () => this.#maintainConnections());
    this.#every(Math.min(1000, t.heartbeatInterval), () => this.#bundles?.tick());
    if (this.#scaler && c.scaling) this.#every(c.scaling.config.interval, () => this.#scaler?.step());
    this.#maintainConnections();
    void this.#sendHeartbeat();
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

  /** Where bundles come from besides the cache and peers: the config's SFTP host, if any. */
  #bundleSources(): BundleSource[] {
    const sftp = this.config.bundle?.sftp;
    if (!sftp) return [];
    const maxBytes = this.config.tunables.maxBundleBytes;
    return [
      {
        name: `sftp ${sftp.user}@${sftp.host}:${sftp.port}`,
        // Loaded on first use: ssh2 costs an agent that never needs it memory and startup time.
        fetch: async (sha) =>
          (await import('./bundle/sftp-source.ts')).pullOverSftp(sftp, sha, maxBytes, {
            signal: this.#stopping.signal,
          }),
      },
    ];
  }

  /**
   * Stops the agent. With `leave` (the default, as on SIGTERM) it first announces a graceful leave
   * so peers mark it `left` at once instead of suspecting it.
   */
  async stop(opts: { leave?: boolean } = {}): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    for (const t of this.#timers) clearInterval(t);
    this.#stopping.abort(new Error('agent stopping'));
    this.#timers = [];
    if (opts.leave !== false && !this.#retired) await this.#announceLeave();
    this.events.flush();
    await this.#monitor?.stop();
    this.#heartbeats?.stop();
    this.#control?.stop();
    await this.#sampler?.stop();
    await this.#node?.stop();
    this.#log.info('agent-stopped', { peerId: this.#peerId, left: opts.leave !== false });
  }

  /**
   * Drains this node before its instance is terminated: runs the before-terminate hook, hands
   * leadership over, then leaves gracefully and stops heartbeating while the process stays up
   * (a supervisor like systemd would otherwise restart it) until the provider terminates it.
   */
  async retire(reason: string, term: number): Promise<void> {
    // Retire requests are repeated until we leave: the first one wins.
    if (this.#retired || !this.#leadership || this.#leadership.retiring) return;
    this.#leadership.retire();
    this.events.emit({
      type: 'retiring',
      peerId: this.#peerId,
      instanceId: this.config.instanceId,
      term,
      at: this.#now(),
      reason,
    });
    // scaling.beforeTerminate first, then the configuration's hooks.beforeTerminate.
    const hook = this.config.scaling?.config.beforeTerminate;
    if (hook) {
      const r = await runHook(hook, { env: { ...process.env, POOLPARTY_HOOK: 'beforeTerminate' } });
      this.#log.info('before-terminate-hook', { ...r });
    }
    await this.#bundles?.runHooks('beforeTerminate');
    // Let one heartbeat carry `retiring` so a leader hands over before we go silent.
    await this.#sendHeartbeat();
    this.#retired = true;
    await this.#announceLeave();
  }

  get retired(): boolean {
    return this.#retired;
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
    const now = this.#now();
    const self: MemberView[] = this.#retired ? [] : [this.#selfView()];
    const members = [...self, ...this.#membership.members(now)];
    members.sort((a, b) => a.startedAt - b.startedAt || a.peerId.localeCompare(b.peerId));
    const leader = this.#leadership?.leader;
    return {
      pool: this.config.pool,
      self: this.#peerId,
      leader: leader ? { peerId: leader.peerId, term: leader.term } : null,
      members,
    };
  }

  #selfView(): MemberView {
    const hb = this.#heartbeat();
    return {
      peerId: hb.peerId,
      instanceId: hb.instanceId,
      cloud: hb.cloud,
      state: 'alive',
      addrs: hb.addrs,
      monitor: hb.monitor,
      lastSeenMs: 0,
      startedAt: hb.startedAt,
      version: hb.version,
      metrics: hb.metrics,
      ...memberBundleField(hb),
    };
  }

  #heartbeat(): Heartbeat {
    const suffix = `/p2p/${this.#peerId}`;
    const addrs = (this.#node?.getMultiaddrs() ?? []).map((ma) => {
      const s = ma.toString();
      return s.endsWith(suffix) ? s.slice(0, -suffix.length) : s;
    });
    return {
      v: 1,
      type: 'heartbeat',
      peerId: this.#peerId,
      instanceId: this.config.instanceId,
      cloud: this.config.cloud,
      addrs,
      monitor: this.monitorUrl,
      startedAt: this.#startedAt,
      seq: this.#seq,
      version: VERSION,
      metrics: this.#sampler?.values() ?? {},
      ...this.#leadership?.heartbeatFields(),
      ...this.#bundles?.heartbeatFields(),
    };
  }

  async #sendHeartbeat(): Promise<void> {
    if (!this.#running || this.#retired || !this.#heartbeats || !this.#metrics) return;
    this.#seq++;
    try {
      await this.#heartbeats.publish(this.#heartbeat());
      this.#metrics.heartbeatsSent.inc();
    } catch (err) {
      this.#log.warn('heartbeat-publish-failed', { error: (err as Error).message });
    }
  }

  async #announceLeave(): Promise<void> {
    if (!this.#heartbeats) return;
    const leave: WireMessage = { v: 1, type: 'leave', peerId: this.#peerId, seq: ++this.#seq };
    await withTimeout(this.#heartbeats.publish(leave), this.config.tunables.leaveGrace).catch(() => undefined);
  }

  /** Publishes a control message (intent, outcome, retire) signed as this agent. */
  async publishControl(draft: ControlDraft): Promise<void> {
    if (!this.#control) return;
    const msg = { ...draft, peerId: this.#peerId, seq: ++this.#seq } as ControlMessage;
    await this.#control
      .publish(msg)
      .catch((err: Error) => this.#log.warn('control-publish-failed', { error: err.message }));
  }

  #receive(msg: WireMessage): void {
    const now = this.#now();
    switch (msg.type) {
      case 'heartbeat': {
        this.#leadership?.observe(msg);
        this.#metrics?.heartbeatsReceived.inc();
        for (const e of this.#membership.heartbeat(msg, now)) this.events.emit(e);
        return;
      }
      case 'leave':
        for (const e of this.#membership.leave(msg, now)) this.events.emit(e);
        return;
      case 'intent':
        this.#leadership?.observeTerm(msg.term);
        this.ledger.intent(msg);
        return;
      case 'outcome':
        this.#leadership?.observeTerm(msg.term);
        this.ledger.outcome(msg);
        return;
      case 'retire':
        this.#onRetire(msg);
        return;
    }
  }

  /** A retire request counts only from the leader we follow, at its current term (fencing). */
  #onRetire(msg: Retire): void {
    if (msg.target !== this.#peerId) return;
    const leader = this.#leadership?.leader;
    if (!leader || leader.peerId !== msg.peerId || msg.term < (this.#leadership?.term ?? 0)) {
      this.#log.warn('retire-refused', { from: msg.peerId, term: msg.term, leader: leader ?? null });
      return;
    }
    void this.retire(`retired by the leader …${msg.peerId.slice(-6)} (term ${msg.term})`, msg.term);
  }

  #tick(): void {
    const now = this.#now();
    const lag = this.#lastTickAt ? Math.max(0, now - this.#lastTickAt - this.#tickInterval) : 0;
    this.#lastTickAt = now;
    this.#metrics?.eventLoopLag.set(lag / 1000);
    for (const e of this.#membership.tick(now)) this.events.emit(e);
    if (!this.#leadership || this.#retired) return;
    for (const e of this.#leadership.step(this.#membership.aliveHeartbeats(), now)) {
      this.#metrics?.leaderChanges.inc();
      this.events.emit(e);
      // Announce a new claim at once instead of up to a heartbeat later (faster failover).
      if (e.type === 'leader-elected' && e.self) void this.#sendHeartbeat();
    }
    this.#metrics?.leaderTerm.set(this.#leadership.leader?.term ?? 0);
    this.#metrics?.isLeader.set(this.#leadership.leads === null ? 0 : 1);
  }

  #maintainConnections(): void {
    if (!this.#running || !this.#dialer) return;
    const candidates = this.#membership
      .members(this.#now())
      .filter((m) => m.state === 'alive')
      .map((m) => ({ peerId: m.peerId, addrs: m.addrs }));
    // Connected yet hearing nobody for a while: our links lead nowhere, retry the bootstrap list.
    const isolated = candidates.length === 0 && this.#now() - this.#startedAt > this.config.tunables.suspectAfter;
    this.#hangUpSilent();
    this.#dialer.maintain(candidates, isolated);
  }

  /**
   * A connection to a peer we have never heard from, open for 3 × deadAfter, is closed: its
   * pubsub streams are broken (seen when members dial each other at the same moment), and a
   * fresh connection — redialled from gossip or the bootstrap list — renegotiates them.
   */
  #hangUpSilent(): void {
    const node = this.#node;
    if (!node) return;
    const now = Date.now();
    const limit = 3 * this.config.tunables.deadAfter;
    for (const conn of node.getConnections()) {
      const peer = conn.remotePeer.toString();
      if (this.#membership.get(peer) || now - conn.timeline.open < limit) continue;
      this.#log.info('hang-up-silent-peer', { peer, openMs: now - conn.timeline.open });
      void node.hangUp(conn.remotePeer).catch(() => undefined);
    }
  }

  #countByState() {
    const counts = this.#membership.countByState();
    if (this.#running && !this.#retired) counts.alive++;
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

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(resolve, reject).finally(() => clearTimeout(t));
  });
}
