import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterView, MemberView } from '../shared/wire/cluster.ts';
import { OperationError } from './command.ts';
import { type BundleView, fetchBundle, fetchCluster } from './monitor-client.ts';

/** The leader stopped the rollout: a node failed to apply the bundle or its verifiers failed. */
export class RolloutHaltedError extends OperationError {
  override name = 'RolloutHaltedError';
}

/** Not every node applied the bundle within --timeout. */
export class RolloutTimeoutError extends OperationError {
  override name = 'RolloutTimeoutError';
}

export interface NodeBundle {
  instanceId: string;
  peerId: string;
  applied: string | null;
  state: string;
  error: string | null;
}

export interface FollowOptions {
  sha: string;
  /** Monitors to ask for the cluster view, first answering wins (re-read every round). */
  monitors: string[];
  timeoutMs: number;
  pollMs: number;
  /** Only members of this cloud take part in the rollout. */
  cloud?: string;
  /** Maps a monitor URL as the pool announces it to one this process can fetch (an SSH tunnel); default as is. */
  via?: (monitor: string) => Promise<string>;
  progress(line: string): void;
}

/** One progress line for a node's configuration state; the same line is never printed twice. */
export function nodeLine(n: NodeBundle, sha: string): string {
  const short = sha.slice(0, 12);
  if (n.applied === sha && n.state !== 'fetching' && n.state !== 'applying') return `${n.instanceId}: ok (${short})`;
  if (n.state === 'failed') return `${n.instanceId}: failed: ${n.error ?? 'unknown error'}`;
  if (n.state === 'fetching' || n.state === 'applying') return `${n.instanceId}: ${n.state} ${short}`;
  return `${n.instanceId}: waiting (applied ${n.applied?.slice(0, 12) ?? 'nothing'})`;
}

function toNode(m: MemberView, b: BundleView | null | undefined): NodeBundle {
  return {
    instanceId: m.instanceId,
    peerId: m.peerId,
    applied: b?.applied ?? null,
    state: b ? b.state : 'unknown',
    error: b?.error ?? null,
  };
}

const asIs = async (monitor: string) => monitor;

async function clusterOf(monitors: string[], via = asIs): Promise<ClusterView> {
  const errors: string[] = [];
  for (const m of monitors) {
    try {
      return await fetchCluster(await via(m), 2000);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  throw new OperationError(`no node answers: ${errors.join('; ')}`);
}

/**
 * Polls every alive member's GET /bundle until all of them applied `sha`, the leader's rollout of
 * it halts, or the timeout passes. Prints a line whenever a node's state changes.
 */
export async function followRollout(opts: FollowOptions): Promise<NodeBundle[]> {
  const deadline = Date.now() + opts.timeoutMs;
  const printed = new Map<string, string>();
  let nodes: NodeBundle[] = [];
  for (;;) {
    const via = opts.via ?? asIs;
    const view = await clusterOf(opts.monitors, via);
    const alive = view.members.filter(
      (m) => m.state === 'alive' && (opts.cloud === undefined || m.cloud === opts.cloud),
    );
    const views = await Promise.all(
      alive.map((m) =>
        via(m.monitor)
          .then((url) => fetchBundle(url, 2000))
          .catch(() => undefined),
      ),
    );
    nodes = alive.map((m, i) => toNode(m, views[i]));
    for (const n of nodes) {
      const line = nodeLine(n, opts.sha);
      if (printed.get(n.peerId) !== line) {
        printed.set(n.peerId, line);
        opts.progress(line);
      }
    }
    if (nodes.length > 0 && nodes.every((n) => n.applied === opts.sha && n.state === 'ok')) return nodes;
    const leaderAt = alive.findIndex((m) => m.peerId === view.leader?.peerId);
    const rollout = leaderAt >= 0 ? views[leaderAt]?.rollout : undefined;
    if (rollout?.sha === opts.sha && rollout.halted) {
      const failed = nodes.filter((n) => n.state === 'failed' && n.error);
      const why = failed.map((n) => `${n.instanceId}: ${n.error}`).join('; ');
      // The leader names peers by id; instance ids are what the user knows them by.
      const reason = nodes.reduce((r, n) => r.replaceAll(n.peerId, n.instanceId), rollout.halted);
      throw new RolloutHaltedError(`rollout of ${opts.sha.slice(0, 12)} halted: ${reason}${why ? ` (${why})` : ''}`);
    }
    if (Date.now() >= deadline) {
      const behind = nodes.filter((n) => n.applied !== opts.sha).map((n) => `${n.instanceId} (${n.state})`);
      throw new RolloutTimeoutError(
        `rollout of ${opts.sha.slice(0, 12)} not finished after ${opts.timeoutMs / 1000}s: ${behind.join(', ') || 'no node answered'}`,
      );
    }
    await sleep(opts.pollMs);
  }
}
