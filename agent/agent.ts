import { ensureIdentity } from '../shared/identity.ts';
import { readPoolKey } from '../shared/pool-key.ts';
import { VERSION } from '../shared/version.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import type { ClusterView, HealthView, MemberView, StatsView } from '../shared/wire/cluster.ts';
import { type Heartbeat, heartbeatTopic, type WireMessage } from '../shared/wire/heartbeat.ts';
import { Dialer } from './discovery.ts';
import { EventHub } from './events.ts';
import { GossipChannel } from './gossip.ts';
import { MembershipView } from './membership/view.ts';
import { MetricSampler } from './metrics/sampler.ts';
import { createMonitorApp } from './monitor/app.ts';
import { type AgentMetrics, createAgentMetrics } from './monitor/prom.ts';
import { MonitorServer } from './monitor/server.ts';
import type { MonitorSource } from './monitor/source.ts';
import { createPoolNode, type PoolNode } from './p2p/node.ts';

/** Structured log sink (shared/log.ts provides one writing JSON lines). */
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
}

/**
 * The composition root of one agent: it owns the libp2p node, the heartbeat channel, the
 * membership view, metric sampling and the monitor, and starts and stops them in order. Several
 * agents can live in one process (tests, benchmarks): nothing here is global.
 */
export class Agent {
  readonly config: AgentConfig;
  readonly events = new EventHub();
  readonly #log: AgentLog;
  readonly #now: () => number;
  readonly #membership: MembershipView;
  readonly #tickInterval: number;
  #node: PoolNode | undefined;
  #gossip: GossipChannel | undefined;
  #dialer: Dialer | undefined;
  #sampler: MetricSampler | undefined;
  #monitor: MonitorServer | undefined;
  #metrics: AgentMetrics | undefined;
  #timers: NodeJS.Timeout[] = [];
  #peerId = '';
  #startedAt = 0;
  #seq = 0;
  #running = false;
  #lastTickAt = 0;

  constructor(config: AgentConfig, deps: AgentDeps) {
    this.config = config;
    this.#log = deps.log;
    this.#now = deps.now ?? Date.now;
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
      metrics.memberEvents.inc({ type: e.type });
      this.#log.info(e.type, { peer: e.peerId, instance: e.instanceId });
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
    this.#gossip = new GossipChannel({
      pubsub: node.services.pubsub,
      topic: heartbeatTopic(c.pool),
      maxMessageBytes: t.maxMessageBytes,
      isFresh: (peer, seq) => this.#membership.checkSeq(peer, seq) === 'fresh',
      onMessage: (msg) => this.#receive(msg),
      onReject: (reason, detail) => {
        metrics.heartbeatsRejected.inc({ reason });
        if (reason !== 'stale') this.#log.warn('message-rejected', { reason, detail });
      },
      onBytes: (direction, bytes) => metrics.gossipBytes.inc({ direction }, bytes),
    });
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

    await this.#sampler.start();
    await node.start();
    this.#gossip.start();
    this.#running = true;

    const source: MonitorSource = {
      health: () => this.health(),
      stats: () => this.stats(),
      cluster: () => this.cluster(),
      subscribe: (listener) => this.events.subscribe(listener),
      registry: metrics.registry,
    };
    this.#monitor = new MonitorServer(createMonitorApp(source), { host: c.monitor.host, port: c.monitor.port });
    await this.#monitor.start();

    this.#every(t.heartbeatInterval, () => this.#sendHeartbeat());
    this.#every(this.#tickInterval, () => this.#tick());
    this.#every(Math.max(500, t.heartbeatInterval), () => this.#maintainConnections());
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

  /**
   * Stops the agent. With `leave` (the default, as on SIGTERM) it first announces a graceful leave
   * so peers mark it `left` at once instead of suspecting it.
   */
  async stop(opts: { leave?: boolean } = {}): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    if (opts.leave !== false && this.#gossip) {
      const leave: WireMessage = { v: 1, type: 'leave', peerId: this.#peerId, seq: ++this.#seq };
      await withTimeout(this.#gossip.publish(leave), this.config.tunables.leaveGrace).catch(() => undefined);
    }
    this.events.flush();
    await this.#monitor?.stop();
    this.#gossip?.stop();
    await this.#sampler?.stop();
    await this.#node?.stop();
    this.#log.info('agent-stopped', { peerId: this.#peerId, left: opts.leave !== false });
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
    const members = [this.#selfView(), ...this.#membership.members(now)];
    members.sort((a, b) => a.startedAt - b.startedAt || a.peerId.localeCompare(b.peerId));
    return { pool: this.config.pool, self: this.#peerId, leader: null, members };
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
    };
  }

  #heartbeat(): Heartbeat {
    return {
      v: 1,
      type: 'heartbeat',
      peerId: this.#peerId,
      instanceId: this.config.instanceId,
      cloud: this.config.cloud,
      addrs: this.#listenAddrs(),
      monitor: this.monitorUrl,
      startedAt: this.#startedAt,
      seq: this.#seq,
      version: VERSION,
      metrics: this.#sampler?.values() ?? {},
    };
  }

  #listenAddrs(): string[] {
    const suffix = `/p2p/${this.#peerId}`;
    return (this.#node?.getMultiaddrs() ?? []).map((ma) => {
      const s = ma.toString();
      return s.endsWith(suffix) ? s.slice(0, -suffix.length) : s;
    });
  }

  async #sendHeartbeat(): Promise<void> {
    if (!this.#running || !this.#gossip || !this.#metrics) return;
    this.#seq++;
    try {
      await this.#gossip.publish(this.#heartbeat());
      this.#metrics.heartbeatsSent.inc();
    } catch (err) {
      this.#log.warn('heartbeat-publish-failed', { error: (err as Error).message });
    }
  }

  #receive(msg: WireMessage): void {
    const now = this.#now();
    const events = msg.type === 'heartbeat' ? this.#membership.heartbeat(msg, now) : this.#membership.leave(msg, now);
    if (msg.type === 'heartbeat') this.#metrics?.heartbeatsReceived.inc();
    for (const e of events) this.events.emit(e);
  }

  #tick(): void {
    for (const e of this.#membership.tick(this.#now())) this.events.emit(e);
    if (this.#metrics) this.#metrics.eventLoopLag.set(this.#lastLag() / 1000);
  }

  #lastLag(): number {
    const now = this.#now();
    const lag = this.#lastTickAt ? Math.max(0, now - this.#lastTickAt - this.#tickInterval) : 0;
    this.#lastTickAt = now;
    return lag;
  }

  #maintainConnections(): void {
    if (!this.#running || !this.#dialer) return;
    const candidates = this.#membership
      .members(this.#now())
      .filter((m) => m.state === 'alive')
      .map((m) => ({ peerId: m.peerId, addrs: m.addrs }));
    this.#dialer.maintain(candidates);
  }

  #countByState() {
    const counts = this.#membership.countByState();
    if (this.#running) counts.alive++;
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
