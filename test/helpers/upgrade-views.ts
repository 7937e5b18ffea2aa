import type { MemberProgress } from '../../agent/upgrade/rollout.ts';

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
