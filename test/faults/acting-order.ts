import { readFile } from 'node:fs/promises';

/**
 * Who acted on the provider, and when, by the agents' own logs (issue 15, I1/I3). An agent acts
 * only on a step where it leads and holds its quorum lease, and each such step lists the provider
 * and records a scaling decision (agent/scaler/scaler.ts: a repeated "nothing to do" once); each
 * launch or terminate is logged as `scaling-intent` just before the provider call (whose term is
 * fenced again right before it). Two leases, each a strict majority of acknowledgements, never
 * overlap once followers wait out the previous leader (agent/leadership/wait-out.ts): so once a
 * new leader has acted, the old one never acts again. Local agents share the test's clock.
 */
export interface Acted {
  /** The agent's instance id. */
  id: string;
  /** When (epoch ms): a decision's `at` (its step began), else the log line's time. */
  at: number;
  what: string;
}

/**
 * Every decision and intent in the logs of `instances` at or after `from` (epoch ms), oldest first.
 * An intent whose action was then fenced (its decision, same token, failed with "fenced") called no
 * provider: it is left out. Its line is written before the fence's recheck, so a step that began
 * while acting and stalled past the window would otherwise read as an action after it.
 */
export async function actedByLog(
  instances: readonly { id: string; logFile: string }[],
  from: number,
): Promise<Acted[]> {
  const out: Acted[] = [];
  for (const i of instances) {
    const lines: Record<string, unknown>[] = [];
    for (const text of (await readFile(i.logFile, 'utf8').catch(() => '')).split('\n')) {
      if (!text.includes('"scaling-decision"') && !text.includes('"scaling-intent"')) continue;
      try {
        lines.push(JSON.parse(text) as Record<string, unknown>);
      } catch {}
    }
    const fenced = new Set(
      lines
        .filter((f) => (f.msg ?? f.type) === 'scaling-decision' && String(f.error ?? '').includes('fenced'))
        .map((f) => f.token),
    );
    for (const f of lines) {
      const msg = String(f.msg ?? f.type);
      if (msg !== 'scaling-decision' && msg !== 'scaling-intent') continue;
      if (msg === 'scaling-intent' && f.token !== undefined && fenced.has(f.token)) continue;
      const at = Number(f.at ?? Date.parse(String(f.time ?? '')));
      const kind = msg === 'scaling-intent' ? `intent ${String(f.kind)}` : String(f.action);
      if (at >= from) out.push({ id: i.id, at, what: `${kind}@${String(f.term)}` });
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

/**
 * The first breach of "after a new leader's first action the old one never acts again": an agent
 * acting after another agent acted since its own earlier action (A, B, A), as text with the times
 * relative to `mark`; null when each agent's actions form one unbroken run in time.
 */
export function interleaving(acts: readonly Acted[], mark = 0): string | null {
  const done = new Set<string>();
  let cur: Acted | null = null;
  for (const a of [...acts].sort((x, y) => x.at - y.at)) {
    if (cur && a.id !== cur.id) {
      done.add(cur.id);
      if (done.has(a.id))
        return `${a.id} acted at +${a.at - mark} ms (${a.what}) after ${cur.id} had at +${cur.at - mark} ms (${cur.what})`;
    }
    cur = a;
  }
  return null;
}

/** Each agent's run, "id first..last ms (n)" relative to `mark`, in order of first action: for the printed report. */
export function actingRuns(acts: readonly Acted[], mark = 0): string[] {
  const runs = new Map<string, { first: number; last: number; n: number }>();
  for (const a of acts) {
    const r = runs.get(a.id) ?? { first: a.at, last: a.at, n: 0 };
    runs.set(a.id, { first: Math.min(r.first, a.at), last: Math.max(r.last, a.at), n: r.n + 1 });
  }
  return [...runs]
    .sort((x, y) => x[1].first - y[1].first)
    .map(([id, r]) => `${id} +${r.first - mark}..+${r.last - mark} ms (${r.n})`);
}
