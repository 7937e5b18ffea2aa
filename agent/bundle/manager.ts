import { rm } from 'node:fs/promises';
import { unpackBundle } from '../../shared/bundle/unpack.ts';
import type { HookEvent } from '../../shared/config/configure-schema.ts';
import { PULL_PROTOCOL, PUSH_PROTOCOL } from '../../shared/wire/bundle-transfer.ts';
import type { BundleEvent } from '../../shared/wire/cluster.ts';
import type { BundleState, Heartbeat, RolloutAnnouncement } from '../../shared/wire/heartbeat.ts';
import { readHooks } from '../configure/bundle-dir.ts';
import type { ConfigureReport } from '../configure/configure.ts';
import { runHooks } from '../configure/hooks.ts';
import type { PoolNode } from '../p2p/node.ts';
import { reportFields, summarize } from './report.ts';
import { planRollout, type RolloutProgress } from './rollout.ts';
import type { BundleStore } from './store.ts';
import { acceptPush, type BundleSource, type PushOptions, pullBundle, serveBundle } from './transfer.ts';

export type { BundleSource } from './transfer.ts';

export interface BundleManagerOptions {
  node: PoolNode;
  store: BundleStore;
  now: () => number;
  selfPeerId: () => string;
  /** This node's cloud: a rollout for another cloud is not ours to apply. */
  cloud: string;
  /** Whether this agent leads right now. */
  leading: () => boolean;
  /** The leader this agent follows (its latest heartbeat), or null. */
  leaderHeartbeat: () => Heartbeat | null;
  /** Latest heartbeats of alive members other than self. */
  peers: () => Heartbeat[];
  /** Applies an unpacked bundle (configureNode in production). */
  configure: (bundleDir: string) => Promise<ConfigureReport>;
  emit: (e: BundleEvent) => void;
  log: (msg: string, fields: Record<string, unknown>) => void;
  /** Largest bundle accepted over the network (bytes). */
  maxBytes: number;
  /** Default maxUnavailable of a rollout pushed without one. */
  maxUnavailable: number;
  /** The bundle to apply at first boot, from the agent config (until a rollout says otherwise). */
  initial?: string;
  /**
   * Sources tried after the local cache and before peers (the SFTP host of the agent config).
   * Each returns verified bytes or throws.
   */
  sources?: BundleSource[];
}

/** A fetch that failed (no source reachable yet) is retried after this, doubling up to the cap. */
const FETCH_RETRY_MS = 2_000;
const FETCH_RETRY_CAP_MS = 60_000;

/**
 * Getting the desired bundle onto this node and applying it; on the leader, running the rolling
 * update. Every node serves bundles it holds to peers (`/poolparty/bundle/1`), verified by
 * sha256 on both ends; the leader accepts pushes from the CLI (`/poolparty/bundle-push/1`).
 * An unverified bundle is never unpacked, and a failed apply leaves the previous one recorded.
 */
export class BundleManager {
  readonly #o: BundleManagerOptions;
  #applied: string | null = null;
  #target: string | null = null;
  #state: BundleState = 'ok';
  #lastReport: ConfigureReport | null = null;
  #lastError: string | null = null;
  #busy = false;
  /** The rollout this node last saw announced (kept so a new leader can continue it). */
  #rollout: RolloutAnnouncement | null = null;
  #progress: RolloutProgress | null = null;
  #announcedDone: string | null = null;
  #joinedHookRan = false;
  /** Set after a fetch failure: when the same bundle may be tried again, and the next delay. */
  #retryAt = 0;
  #retryDelay = FETCH_RETRY_MS;
  #failedStage: string | null = null;

  constructor(opts: BundleManagerOptions) {
    this.#o = opts;
  }

  /** What a push from the CLI needs: the leader's rollout, started or joined. */
  get #push(): PushOptions {
    const o = this.#o;
    return {
      store: o.store,
      maxBytes: o.maxBytes,
      maxUnavailable: o.maxUnavailable,
      leading: o.leading,
      leaderHeartbeat: o.leaderHeartbeat,
      rolloutInProgress: () => this.#rolloutInProgress(),
      startRollout: (sha, maxUnavailable, cloud) => this.startRollout(sha, maxUnavailable, cloud),
      log: o.log,
    };
  }

  async start(): Promise<void> {
    this.#applied = await this.#o.store.applied();
    const node = this.#o.node;
    await node.handle(PULL_PROTOCOL, (stream) => void serveBundle(stream, this.#o.store), { maxInboundStreams: 8 });
    await node.handle(PUSH_PROTOCOL, (stream, conn) => void acceptPush(stream, conn, this.#push), {
      maxInboundStreams: 2,
    });
  }

  async stop(): Promise<void> {
    await this.#o.node.unhandle([PULL_PROTOCOL, PUSH_PROTOCOL]).catch(() => undefined);
  }

  /** Heartbeat fields describing this node's configuration (and the rollout, on the leader). */
  heartbeatFields(): Pick<Heartbeat, 'bundle' | 'bundleState' | 'bundleTarget' | 'bundleReport' | 'rollout'> {
    const r = this.#lastReport;
    return {
      ...(this.#applied ? { bundle: this.#applied } : {}),
      ...(this.#target ? { bundleTarget: this.#target, bundleState: this.#state } : {}),
      ...(r ? { bundleReport: reportFields(r) } : {}),
      ...(this.#o.leading() && this.#rollout ? { rollout: this.#rollout } : {}),
    };
  }

  /**
   * The bundle this node should apply now: the rollout's, once the leader grants it; before any
   * rollout for this cloud is known, the agent config's (first boot only).
   */
  #desired(): string | null {
    const o = this.#o;
    const r = this.#rollout;
    if (r && (r.cloud === undefined || r.cloud === o.cloud)) {
      return r.sha !== this.#applied && r.allowed.includes(o.selfPeerId()) ? r.sha : null;
    }
    return !this.#applied && o.initial ? o.initial : null;
  }

  /** The hash new members should start with: the rollout's when one is known, else ours. */
  desiredForNewMembers(): string | undefined {
    const r = this.#rollout;
    if (r && (r.cloud === undefined || r.cloud === this.#o.cloud) && !r.halted) return r.sha;
    return this.#applied ?? this.#o.initial;
  }

  /** Called periodically: plans the rollout when leading, applies when granted. */
  tick(): void {
    const o = this.#o;
    const leaderHb = o.leaderHeartbeat();
    if (!o.leading() && leaderHb?.rollout) this.#rollout = leaderHb.rollout;
    if (o.leading() && this.#rollout) this.#plan();
    // afterJoin: once, when this node both has a configuration and has met the pool.
    if (!this.#joinedHookRan && this.#applied && !this.#busy && o.peers().length > 0) {
      this.#joinedHookRan = true;
      void this.runHooks('afterJoin');
    }
    const sha = this.#desired();
    if (!sha || this.#busy) return;
    if (this.#target === sha && this.#state === 'failed') {
      // An apply that failed stays failed (the rollout halts); a fetch is retried with backoff.
      if (this.#failedStage !== 'fetch' || o.now() < this.#retryAt) return;
    }
    void this.#fetchAndApply(sha);
  }

  /** Runs the applied bundle's hooks for `event` (none without an applied bundle). Never throws. */
  async runHooks(event: HookEvent): Promise<{ ok: boolean; ran: number }> {
    if (!this.#applied) return { ok: true, ran: 0 };
    try {
      const hooks = await readHooks(this.#o.store.unpackedPath(this.#applied));
      const r = await runHooks(hooks, event);
      for (const h of r.results) this.#o.log('hook', { event, ...h });
      return { ok: r.ok, ran: r.results.length };
    } catch (err) {
      this.#o.log('hook-failed', { event, error: (err as Error).message });
      return { ok: false, ran: 0 };
    }
  }

  /** For GET /bundle. */
  view() {
    return {
      applied: this.#applied,
      target: this.#target,
      state: this.#state,
      error: this.#lastError,
      report: this.#lastReport && summarize(this.#lastReport),
      rollout: this.#rollout,
      progress:
        this.#o.leading() && this.#progress
          ? {
              done: this.#progress.done,
              inProgress: this.#progress.inProgress,
              pending: this.#progress.pending,
              complete: this.#progress.complete,
            }
          : null,
    };
  }

  /** Starts a rollout of a bundle already in the store (leader only). */
  startRollout(sha: string, maxUnavailable = this.#o.maxUnavailable, cloud?: string): void {
    this.#rollout = { sha, allowed: [], maxUnavailable, startedAt: this.#o.now(), ...(cloud ? { cloud } : {}) };
    this.#announcedDone = null;
    this.#o.emit({ type: 'rollout-started', sha, maxUnavailable, at: this.#o.now() });
    this.#plan();
  }

  /** The rollout still granting members (neither complete nor halted), if any. */
  #rolloutInProgress(): { sha: string; done: number; total: number } | null {
    this.#plan();
    const r = this.#rollout;
    const p = this.#progress;
    if (!r || !p || r.halted || p.complete) return null;
    return { sha: r.sha, done: p.done.length, total: p.done.length + p.inProgress.length + p.pending.length };
  }

  #plan(): void {
    const o = this.#o;
    const current = this.#rollout;
    if (!current) return;
    const self = { peerId: o.selfPeerId(), cloud: o.cloud, ...this.heartbeatFields() };
    const progress = planRollout(current, [self, ...o.peers()], o.selfPeerId());
    if (progress.announcement.halted && !current.halted) {
      o.emit({ type: 'rollout-halted', sha: current.sha, reason: progress.announcement.halted, at: o.now() });
    }
    if (progress.complete && this.#announcedDone !== current.sha) {
      this.#announcedDone = current.sha;
      o.emit({ type: 'rollout-complete', sha: current.sha, members: progress.done.length, at: o.now() });
    }
    this.#rollout = progress.announcement;
    this.#progress = progress;
  }

  async #fetchAndApply(sha: string): Promise<void> {
    const o = this.#o;
    this.#busy = true;
    if (this.#target !== sha) this.#retryDelay = FETCH_RETRY_MS;
    this.#target = sha;
    this.#state = 'fetching';
    this.#lastError = null;
    try {
      let bytes = await o.store.read(sha);
      if (!bytes) {
        bytes = await pullBundle(sha, o);
        await o.store.put(sha, bytes);
      }
      this.#state = 'applying';
      this.#lastReport = null;
      const dir = o.store.unpackedPath(sha);
      await rm(dir, { recursive: true, force: true });
      await unpackBundle(bytes, sha, dir);
      const report = await o.configure(dir);
      this.#lastReport = report;
      if (!report.ok) throw new ApplyError(report.stage, report.error ?? `failed at ${report.stage}`);
      await o.store.setApplied(sha);
      this.#applied = sha;
      this.#state = 'ok';
      this.#failedStage = null;
      this.#retryDelay = FETCH_RETRY_MS;
      o.emit({
        type: 'bundle-applied',
        peerId: o.selfPeerId(),
        sha,
        resolver: report.resolver,
        durationMs: report.durationMs,
        at: o.now(),
      });
    } catch (err) {
      this.#state = 'failed';
      this.#lastError = (err as Error).message;
      const stage = err instanceof ApplyError ? err.stage : 'fetch';
      this.#failedStage = stage;
      if (stage === 'fetch') {
        this.#retryAt = o.now() + this.#retryDelay;
        this.#retryDelay = Math.min(FETCH_RETRY_CAP_MS, this.#retryDelay * 2);
      }
      o.emit({ type: 'bundle-failed', peerId: o.selfPeerId(), sha, stage, error: (err as Error).message, at: o.now() });
    } finally {
      this.#busy = false;
    }
  }
}

class ApplyError extends Error {
  override name = 'ApplyError';
  readonly stage: string;
  constructor(stage: string, message: string) {
    super(message);
    this.stage = stage;
  }
}
