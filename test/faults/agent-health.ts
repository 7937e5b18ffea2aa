import { readFileSync } from 'node:fs';

/**
 * What "agents up with bounded RSS" means in the fault suite: each live instance's agent answers
 * /health with ok, and its resident memory stays under RSS_LIMIT_KB (an idle agent holds ~100 MB;
 * issue 15 saw 187 MB after a malformed flood and 319 MB after an unbounded metric answer).
 */
export const RSS_LIMIT_KB = 300_000;

/** Resident memory of process `pid` in kB (0 when it is gone or unreadable). */
export function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export interface AgentHealth {
  id: string;
  /** Its monitor answered /health with status ok. */
  up: boolean;
  rssKb: number;
}

/** /health and RSS of each live instance's agent. */
export async function agentHealth(live: { id: string; pid?: number; monitor?: string }[]): Promise<AgentHealth[]> {
  return Promise.all(
    live.map(async (i) => {
      const health = await fetch(`${i.monitor}/health`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.json() as Promise<{ status?: string }>)
        .catch(() => null);
      return { id: i.id, up: health?.status === 'ok', rssKb: i.pid ? rssKb(i.pid) : 0 };
    }),
  );
}
