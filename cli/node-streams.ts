import { setTimeout as sleep } from 'node:timers/promises';
import type { PoolEvent } from '../shared/wire/cluster.ts';
import { followEvents } from './monitor-client.ts';

export interface NodeStreamsOptions {
  /** Monitor URLs of the pool's live nodes, re-read every `refreshMs`. */
  monitors(): Promise<string[]>;
  /** Which events to hand on; the others are dropped. */
  accept(event: PoolEvent): boolean;
  onEvent(event: PoolEvent, monitor: string): void;
  /** How often the node list is re-read; also the delay before a lost stream is reopened (ms). */
  refreshMs: number;
  signal: AbortSignal;
}

/**
 * Follows GET /events of every live node at once. Used for the events a node only emits about
 * itself — scaling decisions (only the leader records them) and `retiring` (only the node being
 * retired) — so they are seen whichever node that is. Events every node emits (membership,
 * leadership) should be taken from one node instead, or they would arrive once per node.
 */
export async function followAllNodes(opts: NodeStreamsOptions): Promise<void> {
  const open = new Map<string, AbortController>();
  const onAbort = () => {
    for (const c of open.values()) c.abort();
  };
  opts.signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (!opts.signal.aborted) {
      let monitors: string[];
      try {
        monitors = await opts.monitors();
      } catch {
        monitors = [...open.keys()]; // the provider hiccuped: keep what we follow
      }
      for (const [monitor, c] of open) {
        if (!monitors.includes(monitor)) {
          c.abort();
          open.delete(monitor);
        }
      }
      for (const monitor of monitors) {
        if (open.has(monitor) || opts.signal.aborted) continue;
        const c = new AbortController();
        open.set(monitor, c);
        const forward = (e: PoolEvent) => {
          if (opts.accept(e)) opts.onEvent(e, monitor);
        };
        // A stream that ends or fails is forgotten and reopened on a later round if still live.
        void followEvents(monitor, forward, c.signal)
          .catch(() => undefined)
          .finally(() => {
            if (open.get(monitor) === c) open.delete(monitor);
          });
      }
      await sleep(opts.refreshMs, undefined, { signal: opts.signal }).catch(() => undefined);
    }
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    onAbort();
  }
}
