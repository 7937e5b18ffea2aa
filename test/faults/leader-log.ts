import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * "One leader within 5 s of heal" (issue 15) as the agents' own structured logs tell it, not as
 * their monitors answer a poll: on a host at load 50–80 a monitor's answer lags its agent by
 * 2.5–3.5 s (BENCHMARKS, session 14), so a polled time measured the host, not the election.
 * Every agent logs `leader-elected` (with the leader's peer id, the term and `at`, its own clock)
 * whenever it begins to follow a leader or term, and `leader-lost` when it has none; the last of
 * them in its log is whom it follows now. Local agents share the test's clock.
 */

/** Whom one agent follows now by its log, and since when (epoch ms; null leader: none). */
export interface Following {
  id: string;
  leader: string | null;
  term: number | null;
  since: number;
}

/** What `logFile` (one JSON object per line) says agent `id` follows now; null when it never said. */
export async function followingByLog(id: string, logFile: string): Promise<Following | null> {
  let last: Following | null = null;
  for (const text of (await readFile(logFile, 'utf8').catch(() => '')).split('\n')) {
    if (!text.includes('"leader-')) continue;
    let f: Record<string, unknown>;
    try {
      f = JSON.parse(text) as Record<string, unknown>;
    } catch {
      continue;
    }
    const msg = f.msg ?? f.type;
    const since = Number(f.at ?? Date.parse(String(f.time ?? '')));
    if (msg === 'leader-elected') last = { id, leader: String(f.peerId), term: Number(f.term), since };
    else if (msg === 'leader-lost') last = { id, leader: null, term: null, since };
  }
  return last;
}

/** The agents' one leader and when the last of them began to follow it, relative to `healAt`. */
export interface LogAgreement {
  /** The peer id every agent follows, or null when they do not all follow one. */
  leader: string | null;
  /** ms from `healAt` until the last agent began to follow it (0: all did before); null: no one leader. */
  ms: number | null;
  /** Each agent: "id→leader-peer-suffix@term +ms" (for the printed report). */
  agents: string[];
}

/**
 * Whether the agents of `instances` all follow one leader by their own logs, and since when after
 * `healAt`. Two leaders that persist, or an agent that follows none, give `leader` and `ms` null.
 */
export async function agreementByLog(
  instances: readonly { id: string; logFile: string }[],
  healAt: number,
): Promise<LogAgreement> {
  const all = await Promise.all(instances.map((i) => followingByLog(i.id, i.logFile)));
  const agents = all.map((f, n) =>
    f ? `${f.id}→${f.leader?.slice(-6) ?? '-'}@${f.term ?? '-'} +${f.since - healAt}` : `${instances[n]?.id}→?`,
  );
  const leaders = new Set(all.map((f) => f?.leader ?? null));
  const [only] = [...leaders];
  if (leaders.size !== 1 || !only || all.length === 0) return { leader: null, ms: null, agents };
  const last = Math.max(...all.map((f) => f?.since ?? healAt));
  return { leader: only, ms: Math.max(0, last - healAt), agents };
}

/**
 * With POOLPARTY_KEEP_LOGS=<dir>, copies every agent's log to `<dir>/<id>.log` and `meta` to
 * `<dir>/meta.json` before the pool's directory is removed: the trace of a heal that went wrong
 * (who acknowledged whom, who declared whom dead) is in those logs and nowhere else. `sub`: a
 * folder of its own under that dir (one per case of a file with several).
 */
export async function keepLogs(
  instances: readonly { id: string; logFile: string }[],
  meta: object,
  sub = '',
): Promise<void> {
  const root = process.env.POOLPARTY_KEEP_LOGS;
  if (!root) return;
  const dir = join(root, sub);
  await mkdir(dir, { recursive: true });
  for (const i of instances) await copyFile(i.logFile, join(dir, `${i.id}.log`)).catch(() => undefined);
  await writeFile(join(dir, 'meta.json'), `${JSON.stringify(meta)}\n`);
}
