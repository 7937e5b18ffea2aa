import type { UpgradeEvent } from '../../shared/wire/cluster.ts';
import { followEvents } from '../monitor-client.ts';
import { eventLine } from '../render.ts';
import { type ResubmitOptions, Resubmitter } from './resubmit.ts';
import type { UpgradeRollbackView, UpgradeRolloutView } from './view.ts';

/** One node's GET /upgrade, as the CLI reads it. */
export interface NodeUpgrade {
  monitor: string;
  version: string | null;
  sha256: string | null;
  ready: boolean;
  /** The artifact whose health gate is still open on it (agents older than the field say nothing). */
  trial?: string | null;
  error?: string;
}

export interface FollowResult {
  nodes: NodeUpgrade[];
  halted: UpgradeRolloutView['halted'] | null;
  /** The rollout's events as the leading node streamed them (GET /events), oldest first. */
  events: UpgradeEvent[];
}

/** What following a rollout or a rollback needs: every node's monitor, the time it may take, where lines go. */
export interface FollowOptions {
  monitors: string[];
  timeoutMs: number;
  pollMs: number;
  progress: (line: string) => void;
  /**
   * The monitors of the pool's instances that still run, as the provider lists them: a node
   * killed meanwhile (and never coming back) no longer holds the end of a rollback up.
   */
  live?: () => Promise<string[]>;
  /**
   * Hands the same signed request to whoever leads now (resubmit.ts): called when no node has led
   * the work for a while and it is not over (its leader died or stepped down before telling anyone).
   */
  resubmit?: ResubmitOptions['resubmit'];
  /** How long without a node leading the work before it is handed again (ms; resubmit.ts's default). */
  orphanedAfter?: number;
}

/** The hand-over of `o`, or null when it has none to call. */
export function resubmitterOf(o: FollowOptions): Resubmitter | null {
  if (!o.resubmit) return null;
  return new Resubmitter({
    resubmit: o.resubmit,
    progress: o.progress,
    ...(o.orphanedAfter !== undefined ? { orphanedAfter: o.orphanedAfter } : {}),
  });
}

/**
 * The monitors to read from now on: the provider's live instances (a node launched meanwhile, a
 * replacement, is waited for too; one it no longer runs is not), at most every 5 s; `keep` those
 * that still answer though the listing no longer names them.
 */
export class LiveMonitors {
  #listedAt = 0;

  constructor(
    public monitors: string[],
    readonly live: (() => Promise<string[]>) | undefined,
  ) {}

  async refresh(answering: (m: string) => boolean, now = Date.now()): Promise<string[]> {
    if (!this.live || now - this.#listedAt < 5000) return this.monitors;
    this.#listedAt = now;
    const live = await this.live().catch(() => null);
    if (live && live.length > 0)
      this.monitors = [...new Set([...live, ...this.monitors.filter((m) => answering(m) && !live.includes(m))])];
    return this.monitors;
  }
}

/** One node's GET /upgrade: what it runs, and the rollout or rollback it drives if it leads one. */
export interface NodeRead {
  node: NodeUpgrade;
  rollout: UpgradeRolloutView | null;
  rollback: UpgradeRollbackView | null;
}

export async function readNode(monitor: string): Promise<NodeRead> {
  try {
    const res = await fetch(`${monitor.replace(/\/$/, '')}/upgrade`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as {
      self: { version: string; sha256: string | null; ready: boolean; trial?: string | null };
      rollout: UpgradeRolloutView | null;
      rollback?: UpgradeRollbackView | null;
    };
    return { node: { monitor, ...body.self }, rollout: body.rollout, rollback: body.rollback ?? null };
  } catch (err) {
    return {
      node: { monitor, version: null, sha256: null, ready: false, error: (err as Error).message },
      rollout: null,
      rollback: null,
    };
  }
}

/**
 * The event stream of whichever node drives the rollout: followed from the node whose /upgrade
 * says it leads it, and moved when another takes over (the leader restarts last, or fails over).
 */
export class LeaderEvents {
  readonly events: UpgradeEvent[] = [];
  #monitor: string | null = null;
  #stop: AbortController | null = null;

  constructor(
    readonly sha256: string,
    readonly progress: (line: string) => void,
  ) {}

  follow(monitor: string | null): void {
    if (monitor === null || monitor === this.#monitor) return;
    this.close();
    this.#monitor = monitor;
    const stop = new AbortController();
    this.#stop = stop;
    void followEvents(
      monitor,
      (e) => {
        if (!e.type.startsWith('upgrade-') || (e as UpgradeEvent).sha !== this.sha256) return;
        // Said once, whichever node says it: a leader that took over may repeat the completion.
        if (e.type === 'upgrade-complete' && this.events.some((x) => x.type === e.type)) return;
        this.events.push(e as UpgradeEvent);
        this.progress(eventLine(e));
      },
      stop.signal,
    )
      .catch(() => undefined)
      // The stream ended (its node restarted): the next poll picks the node leading then.
      .finally(() => {
        if (this.#stop === stop) this.#monitor = null;
      });
  }

  close(): void {
    this.#stop?.abort();
    this.#stop = null;
    this.#monitor = null;
  }
}

/**
 * Polls every node's /upgrade until all run `sha256`, are ready and their gates are over, or a leader's rollout says it
 * halted (where and why), or the time is up (then the nodes as last seen, with halted null).
 * Meanwhile the leading node's rollout events are shown as they come.
 */
export async function followUpgrade(o: FollowOptions & { sha256: string }): Promise<FollowResult & { done: boolean }> {
  const deadline = Date.now() + o.timeoutMs;
  const stream = new LeaderEvents(o.sha256, o.progress);
  const again = resubmitterOf(o);
  const pool = new LiveMonitors(o.monitors, o.live);
  let last = '';
  try {
    for (;;) {
      const seen = await Promise.all(pool.monitors.map(readNode));
      const nodes = seen.map((s) => s.node);
      const mine = seen.filter((s) => s.rollout?.sha256 === o.sha256);
      const leading = mine.find((s) => s.rollout?.leading);
      stream.follow(leading?.node.monitor ?? null);
      const halted = mine.find((s) => s.rollout?.halted)?.rollout?.halted ?? null;
      if (halted) return { nodes, halted, done: false, events: stream.events };
      // On it, ready, and its gate over (its supervisor recorded the trial): it stays on it.
      const upgraded = nodes.filter((n) => n.sha256 === o.sha256 && n.ready && n.trial !== o.sha256).length;
      const line = `${upgraded}/${nodes.length} nodes run ${o.sha256.slice(0, 12)}`;
      if (line !== last) o.progress(line);
      last = line;
      if (upgraded === nodes.length) return { nodes, halted: null, done: true, events: stream.events };
      if (Date.now() >= deadline) return { nodes, halted: null, done: false, events: stream.events };
      // Led: some node drives it. A rollout shown complete while a node is not on it (one launched
      // meanwhile on another version) is led by nobody: handed again, it takes that node too.
      again?.observe(leading?.rollout?.completedAt === undefined && leading !== undefined, false);
      await pool.refresh((m) => seen.some((s) => s.node.monitor === m && !s.node.error));
      await new Promise((r) => setTimeout(r, o.pollMs));
    }
  } finally {
    stream.close();
    await again?.settle();
  }
}
