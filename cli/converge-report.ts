import type { ClusterView } from '../shared/wire/cluster.ts';

/** How one node sees the pool in a round. */
export type NodeStatus = { ok: true; view: ClusterView; missing: string[] } | { ok: false; error: string };

/** Up to this many nodes, progress and the timeout name every node; above it, counts and a few names. */
export const PER_NODE_UP_TO = 10;
/** Nodes named in a summary or a timeout message of a large pool. */
const NAMED = 5;

/** Each node's best so far: answering at all, then how many of the pool it sees alive. */
export class ProgressMark {
  #best = new Map<string, number>();

  /** True when some node answered for the first time or sees more alive than ever before. */
  advanced(statuses: Map<string, NodeStatus>, total: number): boolean {
    let moved = false;
    for (const [id, s] of statuses) {
      if (!s.ok) continue;
      const seen = total - s.missing.length;
      if (seen > (this.#best.get(id) ?? -1)) {
        this.#best.set(id, seen);
        moved = true;
      }
    }
    return moved;
  }
}

function named(ids: string[]): string {
  return ids.length <= NAMED ? ids.join(', ') : `${ids.slice(0, NAMED).join(', ')} and ${ids.length - NAMED} more`;
}

/** One node's progress line (small pools). */
export function nodeLine(id: string, status: NodeStatus, total: number): string {
  return status.ok ? `${id}: sees ${total - status.missing.length}/${total} alive` : `${id}: waiting for monitor`;
}

/** The pool's progress in one line (large pools): who answers, who sees everyone, who lags most. */
export function summaryLine(statuses: Map<string, NodeStatus>, total: number): string {
  let answering = 0;
  let complete = 0;
  let fewest: { id: string; seen: number } | null = null;
  for (const [id, s] of statuses) {
    if (!s.ok) continue;
    answering++;
    const seen = total - s.missing.length;
    if (seen === total) complete++;
    else if (!fewest || seen < fewest.seen) fewest = { id, seen };
  }
  const lag = fewest ? ` (fewest: ${fewest.id} sees ${fewest.seen}/${total})` : '';
  return `${answering}/${total} monitors answer, ${complete}/${total} see all ${total} alive${lag}`;
}

/** Why the pool is not converged: every node of a small pool, counts and a few names of a large one. */
export function lagging(statuses: Map<string, NodeStatus>): string {
  const parts: string[] = [];
  const unreachable: string[] = [];
  const short: string[] = [];
  for (const [id, s] of statuses) {
    if (!s.ok) {
      parts.push(`${id} unreachable (${s.error})`);
      unreachable.push(id);
    } else if (s.missing.length > 0) {
      parts.push(`${id} does not see ${s.missing.join(', ')} alive`);
      short.push(`${id} (${statuses.size - s.missing.length}/${statuses.size})`);
    }
  }
  if (statuses.size <= PER_NODE_UP_TO) return parts.join('; ');
  const out: string[] = [];
  if (unreachable.length > 0) out.push(`${unreachable.length} monitors unreachable: ${named(unreachable)}`);
  if (short.length > 0) out.push(`${short.length} nodes do not see every node alive: ${named(short)}`);
  return out.join('; ');
}
