import type { UpgradeRolloutView } from './view.ts';

/** One node's GET /upgrade, as the CLI reads it. */
export interface NodeUpgrade {
  monitor: string;
  version: string | null;
  sha256: string | null;
  ready: boolean;
  error?: string;
}

export interface FollowResult {
  nodes: NodeUpgrade[];
  halted: UpgradeRolloutView['halted'] | null;
}

async function readNode(monitor: string): Promise<{ node: NodeUpgrade; rollout: UpgradeRolloutView | null }> {
  try {
    const res = await fetch(`${monitor.replace(/\/$/, '')}/upgrade`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as {
      self: { version: string; sha256: string | null; ready: boolean };
      rollout: UpgradeRolloutView | null;
    };
    return { node: { monitor, ...body.self }, rollout: body.rollout };
  } catch (err) {
    return {
      node: { monitor, version: null, sha256: null, ready: false, error: (err as Error).message },
      rollout: null,
    };
  }
}

/**
 * Polls every node's /upgrade until all run `sha256` and are ready, or a leader's rollout says it
 * halted (where and why), or the time is up (then the nodes as last seen, with halted null).
 */
export async function followUpgrade(o: {
  sha256: string;
  monitors: string[];
  timeoutMs: number;
  pollMs: number;
  progress: (line: string) => void;
}): Promise<FollowResult & { done: boolean }> {
  const deadline = Date.now() + o.timeoutMs;
  let last = '';
  for (;;) {
    const seen = await Promise.all(o.monitors.map(readNode));
    const nodes = seen.map((s) => s.node);
    const halted = seen.find((s) => s.rollout?.halted && s.rollout.sha256 === o.sha256)?.rollout?.halted ?? null;
    if (halted) return { nodes, halted, done: false };
    const upgraded = nodes.filter((n) => n.sha256 === o.sha256 && n.ready).length;
    const line = `${upgraded}/${nodes.length} nodes run ${o.sha256.slice(0, 12)}`;
    if (line !== last) o.progress(line);
    last = line;
    if (upgraded === nodes.length) return { nodes, halted: null, done: true };
    if (Date.now() >= deadline) return { nodes, halted: null, done: false };
    await new Promise((r) => setTimeout(r, o.pollMs));
  }
}
