import type { MemberProgress } from '../../agent/upgrade/rollout.ts';
import type { ClusterView } from '../../shared/wire/cluster.ts';
import { waitFor } from '../fixtures/wait.ts';

/** GET of a monitor route as JSON, bounded; throws on a refused connection or an HTTP error. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** The parts of GET /upgrade the upgrade pool tests read. */
export interface UpgradeNodeView {
  self: {
    version: string;
    sha256: string | null;
    held: string[];
    ready: boolean;
    last: { sha256: string; ok: boolean; reason?: string; at: number } | null;
  };
  rollout: {
    sha256: string;
    leading: boolean;
    members: MemberProgress[];
    halted?: { instanceId: string; reason: string };
    completedAt?: number;
  } | null;
}

/**
 * Waits until every monitor names the same leader and sees `alive` members alive, and returns that
 * leader's member entry. A pool just bootstrapped may still be merging islands that each elected
 * one, and a push to a leader about to step down is lost with it.
 */
export function oneLeader(monitors: string[], alive: number, timeoutMs = 120_000) {
  return waitFor(
    `one leader named by every node, ${alive} alive`,
    async () => {
      const views = await Promise.all(monitors.map((m) => getJson<ClusterView>(`${m}/cluster`).catch(() => null)));
      const named = new Set(views.map((c) => c?.leader?.peerId ?? null));
      const c = views[0];
      if (named.size !== 1 || !c?.leader) return null;
      if (views.some((v) => v?.members.filter((x) => x.state === 'alive').length !== alive)) return null;
      return c.members.find((x) => x.peerId === c.leader?.peerId) ?? null;
    },
    { timeoutMs, everyMs: 500 },
  );
}
