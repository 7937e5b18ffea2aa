import { setTimeout as sleep } from 'node:timers/promises';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import type { ClusterView } from '../shared/wire/cluster.ts';
import { lagging, type NodeStatus, nodeLine, PER_NODE_UP_TO, ProgressMark, summaryLine } from './converge-report.ts';
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

/** A wait that makes progress goes on for at most this many timeouts in all. */
export const MAX_TIMEOUTS = 10;
/** One monitor's answer (ms): a node busy starting beside its peers answers slowly, not never. */
const FETCH_TIMEOUT_MS = 3000;
/** A round asks every node: at least this long per node between rounds (ms), so 50 nodes are asked once a second. */
const POLL_PER_NODE_MS = 20;
/** Large pools: at most one summary line this often (ms), when it changed. */
const SUMMARY_EVERY_MS = 2000;

/**
 * Polls every running instance's GET /cluster until each reports every running instance alive.
 * Gives up after `timeoutMs` without progress (no node answered for the first time or saw more of
 * the pool alive than before), and after MAX_TIMEOUTS × `timeoutMs` in all: fifty agents starting
 * on two cores keep converging for minutes. Reports each node's progress (a summary line for pools
 * above PER_NODE_UP_TO nodes) once it changes; fails fast when an instance exits.
 */
export async function waitForConvergence(opts: ConvergeOptions): Promise<Map<string, ClusterView>> {
  const started = Date.now();
  const hardDeadline = started + opts.timeoutMs * MAX_TIMEOUTS;
  let deadline = started + opts.timeoutMs;
  const expected = new Set((await opts.list()).filter((i) => i.state !== 'terminated').map((i) => i.id));
  const reported = new Map<string, string>();
  const mark = new ProgressMark();
  let summarizedAt = 0;
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
    if (mark.advanced(last, ids.length)) deadline = Math.min(hardDeadline, Date.now() + opts.timeoutMs);
    const done = [...last.values()].every((s) => s.ok && s.missing.length === 0);
    if (ids.length <= PER_NODE_UP_TO) {
      for (const [id, status] of last) {
        const line = nodeLine(id, status, ids.length);
        if (reported.get(id) !== line) {
          reported.set(id, line);
          opts.progress(line);
        }
      }
    } else if (done || Date.now() - summarizedAt >= SUMMARY_EVERY_MS) {
      const line = summaryLine(last, ids.length);
      if (reported.get('') !== line) {
        reported.set('', line);
        summarizedAt = Date.now();
        opts.progress(line);
      }
    }
    if (done) return new Map([...last].map(([id, s]) => [id, (s as { view: ClusterView }).view]));
    if (Date.now() >= deadline) {
      const why = deadline === hardDeadline ? '' : ' without progress';
      throw new ConvergenceError(
        `timed out after ${Date.now() - started}ms (${opts.timeoutMs}ms${why}): ${lagging(last)}`,
      );
    }
    const pollMs = Math.max(opts.pollMs, ids.length * POLL_PER_NODE_MS);
    await sleep(pollMs, undefined, opts.signal ? { signal: opts.signal } : undefined);
  }
}

async function nodeStatus(inst: InstanceRecord, ids: string[]): Promise<NodeStatus> {
  if (!inst.monitor) return { ok: false, error: 'no monitor URL' };
  try {
    const view = await fetchCluster(inst.monitor, FETCH_TIMEOUT_MS);
    const alive = new Set(view.members.filter((m) => m.state === 'alive').map((m) => m.instanceId));
    return { ok: true, view, missing: ids.filter((id) => !alive.has(id)) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
