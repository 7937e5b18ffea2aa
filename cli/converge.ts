import { setTimeout as sleep } from 'node:timers/promises';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import type { ClusterView } from '../shared/wire/cluster.ts';
import { fetchCluster } from './monitor-client.ts';

/** Bootstrap gave up: some nodes do not see every other node alive. */
export class ConvergenceError extends Error {
  override name = 'ConvergenceError';
}

export interface ConvergeOptions {
  /** The pool's running instances, re-read every round (an instance may die meanwhile). */
  list(): Promise<InstanceRecord[]>;
  timeoutMs: number;
  /** Delay between rounds (ms). */
  pollMs: number;
  progress(text: string): void;
  /** Stops waiting (rejects with an AbortError). */
  signal?: AbortSignal;
}

/** How one node sees the pool in a round. */
type NodeStatus = { ok: true; view: ClusterView; missing: string[] } | { ok: false; error: string };

/**
 * Polls every running instance's GET /cluster until each reports every running instance alive.
 * Reports each node's progress once it changes; fails fast when an instance exits.
 */
export async function waitForConvergence(opts: ConvergeOptions): Promise<Map<string, ClusterView>> {
  const deadline = Date.now() + opts.timeoutMs;
  const expected = new Set((await opts.list()).filter((i) => i.state !== 'terminated').map((i) => i.id));
  const reported = new Map<string, string>();
  let last = new Map<string, NodeStatus>();
  for (;;) {
    opts.signal?.throwIfAborted();
    const instances = await opts.list();
    const exited = instances.filter((i) => expected.has(i.id) && i.state === 'terminated');
    if (exited.length > 0) {
      const logs = exited.map((i) => `${i.id}${'logFile' in i ? ` (log: ${String(i.logFile)})` : ''}`);
      throw new ConvergenceError(`instance exited during bootstrap: ${logs.join(', ')}`);
    }
    const running = instances.filter((i) => i.state !== 'terminated');
    const ids = running.map((i) => i.id);
    last = new Map(await Promise.all(running.map(async (i) => [i.id, await nodeStatus(i, ids)] as const)));
    for (const [id, status] of last) {
      const line = status.ok
        ? `${id}: sees ${ids.length - status.missing.length}/${ids.length} alive`
        : `${id}: waiting for monitor`;
      if (reported.get(id) !== line) {
        reported.set(id, line);
        opts.progress(line);
      }
    }
    if ([...last.values()].every((s) => s.ok && s.missing.length === 0)) {
      return new Map([...last].map(([id, s]) => [id, (s as { view: ClusterView }).view]));
    }
    if (Date.now() >= deadline) throw new ConvergenceError(`timed out after ${opts.timeoutMs}ms: ${lagging(last)}`);
    await sleep(opts.pollMs, undefined, opts.signal ? { signal: opts.signal } : undefined);
  }
}

async function nodeStatus(inst: InstanceRecord, ids: string[]): Promise<NodeStatus> {
  if (!inst.monitor) return { ok: false, error: 'no monitor URL' };
  try {
    const view = await fetchCluster(inst.monitor, 1500);
    const alive = new Set(view.members.filter((m) => m.state === 'alive').map((m) => m.instanceId));
    return { ok: true, view, missing: ids.filter((id) => !alive.has(id)) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

function lagging(statuses: Map<string, NodeStatus>): string {
  const parts: string[] = [];
  for (const [id, s] of statuses) {
    if (!s.ok) parts.push(`${id} unreachable (${s.error})`);
    else if (s.missing.length > 0) parts.push(`${id} does not see ${s.missing.join(', ')} alive`);
  }
  return parts.join('; ');
}
