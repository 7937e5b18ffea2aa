import { rm } from 'node:fs/promises';
import type { Connection, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { unpackBundle } from '../../shared/bundle/unpack.ts';
import type { HookEvent } from '../../shared/config/configure-schema.ts';
import {
  FrameReader,
  line,
  NOT_LEADER,
  PULL_PROTOCOL,
  PUSH_PROTOCOL,
  pullOver,
  sendAll,
  sha256,
} from '../../shared/wire/bundle-transfer.ts';
import type { BundleEvent } from '../../shared/wire/cluster.ts';
import type { BundleState, Heartbeat, RolloutAnnouncement } from '../../shared/wire/heartbeat.ts';
import { readHooks } from '../configure/bundle-dir.ts';
import type { ConfigureReport } from '../configure/configure.ts';
import { runHooks } from '../configure/hooks.ts';
import type { PoolNode } from '../p2p/node.ts';
import { planRollout, type RolloutProgress } from './rollout.ts';
import type { BundleStore } from './store.ts';

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

export interface BundleSource {
  name: string;
  fetch(sha: string): Promise<Buffer>;
}

/** A fetch that failed (no source reachable yet) is retried after this, doubling up to the cap. */
const FETCH_RETRY_MS = 2_000;
const FETCH_RETRY_CAP_MS = 60_000;
/** Members asked for a bundle they do not advertise, per fetch. */
const MAX_BLIND_PULLS = 4;

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

  async start(): Promise<void> {
    this.#applied = await this.#o.store.applied();
    const node = this.#o.node;
    await node.handle(PULL_PROTOCOL, (stream) => void this.#servePull(stream), { maxInboundStreams: 8 });
    await node.handle(PUSH_PROTOCOL, (stream, conn) => void this.#acceptPush(stream, conn), { maxInboundStreams: 2 });
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
        bytes = await this.#pull(sha);
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

  /** Pulls from the configured sources, then the leader, then members that have applied it. */
  async #pull(sha: string): Promise<Buffer> {
    const o = this.#o;
    const errors: string[] = [];
    for (const source of o.sources ?? []) {
      try {
        const bytes = await source.fetch(sha);
        if (sha256(bytes) !== sha) throw new Error(`served sha256 ${sha256(bytes)}`);
        o.log('bundle-fetched', { sha, source: source.name, bytes: bytes.length });
        return bytes;
      } catch (err) {
        errors.push(`${source.name}: ${(err as Error).message}`);
      }
    }
    const leader = o.leaderHeartbeat();
    // The leader, then members that applied it, then a few others (one may hold it in its cache
    // without having applied it, e.g. a leader of another cloud, or a node provisioned with it).
    const others = o.peers().filter((p) => p.peerId !== leader?.peerId);
    const sources = [
      ...(leader ? [leader.peerId] : []),
      ...others.filter((p) => p.bundle === sha).map((p) => p.peerId),
      ...others
        .filter((p) => p.bundle !== sha)
        .slice(0, MAX_BLIND_PULLS)
        .map((p) => p.peerId),
    ];
    for (const peer of sources) {
      try {
        const stream = await o.node.dialProtocol(peerIdFromString(peer), PULL_PROTOCOL, {
          signal: AbortSignal.timeout(10_000),
        });
        return await pullOver(stream, sha, o.maxBytes);
      } catch (err) {
        errors.push(`${peer.slice(-8)}: ${(err as Error).message}`);
      }
    }
    throw new Error(`no peer served bundle ${sha.slice(0, 12)} (${errors.join('; ') || 'no source known'})`);
  }

  async #servePull(stream: Stream): Promise<void> {
    try {
      const header = await new FrameReader(stream).header();
      const sha = String(header.sha256 ?? '');
      const bytes = /^[0-9a-f]{64}$/.test(sha) ? await this.#o.store.read(sha) : null;
      if (!bytes) await sendAll(stream, line({ ok: false, error: `bundle ${sha.slice(0, 12)} not held here` }));
      else {
        await sendAll(stream, line({ ok: true, size: bytes.length }));
        await sendAll(stream, bytes);
      }
      await stream.close();
    } catch (err) {
      stream.abort(err as Error);
    }
  }

  async #acceptPush(stream: Stream, conn: Connection): Promise<void> {
    const o = this.#o;
    const refuse = async (error: string, code?: typeof NOT_LEADER) => {
      o.log('bundle-push-refused', { from: conn.remotePeer.toString(), error });
      await sendAll(stream, line({ ok: false, error, ...(code ? { code } : {}) }));
      await stream.close();
    };
    try {
      const reader = new FrameReader(stream);
      const header = await reader.header();
      if (!o.leading())
        return await refuse(`not the leader (leader: ${o.leaderHeartbeat()?.peerId ?? 'unknown'})`, NOT_LEADER);
      const sha = String(header.sha256 ?? '');
      if (!/^[0-9a-f]{64}$/.test(sha)) return await refuse('sha256: expected a hex digest');
      const bytes = await reader.body(Number(header.size), o.maxBytes);
      if (sha256(bytes) !== sha) return await refuse(`bundle sha256 is ${sha256(bytes)}, not ${sha}`);
      await o.store.put(sha, Buffer.from(bytes));
      const maxUnavailable =
        Number.isSafeInteger(header.maxUnavailable) && (header.maxUnavailable as number) > 0
          ? (header.maxUnavailable as number)
          : o.maxUnavailable;
      const cloud = typeof header.cloud === 'string' && header.cloud.length > 0 ? header.cloud : undefined;
      const busy = this.#rolloutInProgress();
      if (busy && busy.sha !== sha) {
        return await refuse(
          `a rollout of ${busy.sha.slice(0, 12)} is in progress (${busy.done}/${busy.total} applied): one rollout at a time, push again when it completes or halts`,
        );
      }
      // The same bundle pushed again (a retried configure) joins the rollout already running.
      if (!busy) this.startRollout(sha, maxUnavailable, cloud);
      o.log('bundle-pushed', { from: conn.remotePeer.toString(), sha, bytes: bytes.length, maxUnavailable });
      await sendAll(stream, line({ ok: true, sha256: sha }));
      await stream.close();
    } catch (err) {
      await refuse((err as Error).message).catch(() => stream.abort(err as Error));
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

/** What a heartbeat says about the last apply: compact, the details are in GET /bundle. */
function reportFields(r: ConfigureReport): NonNullable<Heartbeat['bundleReport']> {
  const failed = r.verifiers.filter((v) => !v.ok).map((v) => v.name);
  return {
    ok: r.ok,
    resolver: r.resolver,
    durationMs: Math.round(r.durationMs),
    verifiers: { passed: r.verifiers.length - failed.length, failed },
  };
}

function summarize(r: ConfigureReport) {
  return {
    ok: r.ok,
    stage: r.stage,
    resolver: r.resolver,
    durationMs: r.durationMs,
    verifiers: r.verifiers,
    ...(r.error ? { error: r.error } : {}),
  };
}
