import { ensureIdentity } from '../shared/identity.ts';
import { readPoolKey } from '../shared/pool-key.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import type { ClusterView, HealthView, StatsView } from '../shared/wire/cluster.ts';
import type { ControlMessage } from '../shared/wire/heartbeat.ts';
import type { BundleManager } from './bundle/manager.ts';
import { type AgentParts, composeAgent } from './compose.ts';
import { EventHub } from './events.ts';
import type { Leadership } from './leadership.ts';
import { Lifecycle } from './lifecycle.ts';
import type { SwimCounts } from './membership/swim/counts.ts';
import type { HistoryRecorder } from './monitor/history.ts';
import { type ReadyView, readiness } from './monitor/readiness.ts';
import { ActionLedger } from './scaler/ledger.ts';
import type { PoolScaler } from './scaler/pool-scaler.ts';
import type { ControlDraft } from './scaler/scaler.ts';
import { armSettleGc } from './settle-gc.ts';
import type { AgentDeps, AgentLog } from './types.ts';
import { agentVersion } from './upgrade/running.ts';

export type { AgentDeps, AgentLog };

/**
 * One agent: its identity, and the components `composeAgent` builds (libp2p node, membership,
 * load exchange, control, leadership, scalers, bundles, sampler, monitor), started in order and
 * stopped in reverse. This class only holds them and answers for them; the monitor reads it
 * through a narrow read model. Several agents can live in one process (tests, benchmarks).
 */
export class Agent {
  readonly config: AgentConfig;
  readonly events = new EventHub();
  readonly ledger = new ActionLedger();
  readonly #deps: AgentDeps;
  readonly #now: () => number;
  readonly #lifecycle: Lifecycle;
  #parts: AgentParts | undefined;
  #peerId = '';
  #startedAt = 0;
  #running = false;
  /** Disarms the one GC after start (settle-gc.ts). */
  #disarmGc: () => void = () => {};

  constructor(config: AgentConfig, deps: AgentDeps) {
    this.config = config;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#lifecycle = new Lifecycle((name, err) =>
      deps.log.error('stop-failed', { component: name, error: err.message }),
    );
  }

  get peerId(): string {
    return this.#peerId;
  }

  get multiaddrs(): string[] {
    return this.#parts?.node.getMultiaddrs().map(String) ?? [];
  }

  /** The monitor URL others should use: the configured one, or the bound address for port 0. */
  get monitorUrl(): string {
    return this.#parts?.monitorUrl() ?? this.config.monitor.url;
  }

  get leadership(): Leadership | undefined {
    return this.#parts?.leadership;
  }

  get scaler(): PoolScaler | undefined {
    return this.#parts?.scaler;
  }

  get bundles(): BundleManager | undefined {
    return this.#parts?.bundles;
  }

  get history(): HistoryRecorder | undefined {
    return this.#parts?.history;
  }

  /** What the membership core did so far (swim/counts.ts), once started. */
  get swimCounts(): SwimCounts | undefined {
    return this.#parts?.swimCounts();
  }

  get retired(): boolean {
    return this.#parts?.retirement.retired ?? false;
  }

  connectedPeers(): string[] {
    return [...new Set(this.#parts?.node.getConnections().map((c) => c.remotePeer.toString()) ?? [])];
  }

  async start(): Promise<void> {
    const c = this.config;
    const log = this.#deps.log;
    this.#startedAt = this.#deps.startedAt ?? this.#now();
    const [{ privateKey, peerId, created }, poolKey] = await Promise.all([
      ensureIdentity(c.dataDir),
      readPoolKey(c.poolKeyFile),
    ]);
    this.#peerId = peerId;
    log.info('identity', { peerId, created });
    this.#parts = await composeAgent({
      config: c,
      peerId,
      privateKey,
      poolKey,
      startedAt: this.#startedAt,
      restarted: !created,
      now: this.#now,
      log,
      events: this.events,
      ledger: this.ledger,
      remoter: this.#deps.remoter,
      readModel: () => this,
    });
    await this.#lifecycle.start(this.#parts.components);
    this.#running = true;
    this.#disarmGc = armSettleGc();
    log.info('agent-started', {
      peerId,
      pool: c.pool,
      cloud: c.cloud,
      instanceId: c.instanceId,
      listen: this.multiaddrs,
      monitor: this.monitorUrl,
      version: agentVersion(),
      startedAt: this.#startedAt,
    });
  }

  /** Stops the agent; with `leave` (the default, as on SIGTERM) it first announces a graceful leave. */
  async stop(opts: { leave?: boolean } = {}): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#disarmGc();
    if (opts.leave !== false && !this.retired) await this.#parts?.leave(this.config.tunables.leaveGrace);
    this.events.flush();
    await this.#lifecycle.stop();
    this.#deps.log.info('agent-stopped', { peerId: this.#peerId, left: opts.leave !== false });
  }

  /**
   * Dies as a kill -9 looks to its peers, for agents that share a process (benchmarks, tests):
   * every connection is reset and the listener closed before anything else runs, so peers read
   * the end at once and a redial is refused, and nothing more is sent (no leave, no stream or
   * pubsub goodbyes; the stopped dial queue refuses the components' last dials). `stop({ leave:
   * false })` is no crash: it stops the membership first and closes the node last, so for that
   * while the agent is connected but answers no probe.
   */
  async crash(): Promise<void> {
    const node = this.#parts?.node;
    if (!this.#running || !node) return;
    this.#running = false;
    this.#disarmGc();
    for (const c of node.getConnections()) c.abort(new Error('crashed'));
    // libp2p stops its transports (listener closed, inbound sockets destroyed) and its dial queue
    // within this turn's microtasks, before any timer or socket callback of ours can run.
    const closed = node.stop();
    await this.#lifecycle.stop();
    await closed;
    this.#deps.log.info('agent-stopped', { peerId: this.#peerId, left: false, crashed: true });
  }

  /** Drains this node before its instance is terminated (hooks, hand-over, leave). */
  async retire(reason: string, term: number): Promise<void> {
    await this.#parts?.retirement.retire(reason, term);
  }

  health(): HealthView {
    return {
      status: 'ok',
      peerId: this.#peerId,
      instanceId: this.config.instanceId,
      uptimeS: Math.round((this.#now() - this.#startedAt) / 1000),
      version: agentVersion(),
    };
  }

  stats(): StatsView {
    return {
      peerId: this.#peerId,
      instanceId: this.config.instanceId,
      cloud: this.config.cloud,
      metrics: this.#parts?.sampler.readings() ?? {},
    };
  }

  ready(): ReadyView {
    const others = this.cluster().members.filter((m) => m.peerId !== this.#peerId && m.state === 'alive').length;
    const bundle = this.#parts?.bundles.view();
    return readiness({
      running: this.#running,
      retiring: this.retired,
      seeds: this.config.bootstrap.length,
      othersAlive: others,
      bundle: bundle ?? { applied: null, state: 'fetching' },
    });
  }

  cluster(): ClusterView {
    return this.#parts?.cluster() ?? { pool: this.config.pool, self: this.#peerId, leader: null, members: [] };
  }

  /** Publishes a control message (intent, outcome, retire, summary) signed as this agent. */
  async publishControl(draft: ControlDraft | Omit<ControlMessage, 'v' | 'peerId' | 'seq'>): Promise<void> {
    await this.#parts?.publishControl(draft);
  }
}
