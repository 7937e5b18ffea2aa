import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildChildren } from './lib/build.ts';
import { LoopbackBlock } from './lib/loopback.ts';
import { ProcPool } from './lib/procpool.ts';
import { installCleanup, killAll } from './lib/procs.ts';
import { summarize } from './lib/stats.ts';

/**
 * Stale views at N, one agent per process (issue 13): starts N agents as the idle-cost bench does,
 * then watches every view until each agent sees all N alive or `--watch` seconds pass, and prints
 * one JSON line: when each view completed, how long each member took from its own start until
 * every agent held it alive (the "missing 5 s after its join" measure), and for views still short
 * at the end, whom they miss and the membership failures they logged. Progress goes to stderr.
 *
 *   npx tsx test/bench/views.ts --n 30 --watch 180
 */

const HELP = 'npx tsx test/bench/views.ts --n N [--watch SECONDS]';

const load1 = () => Number((loadavg()[0] ?? 0).toFixed(1));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { n: { type: 'string', default: '20' }, watch: { type: 'string', default: '180' } },
    strict: true,
  });
  const n = Number(values.n);
  const watchS = Number(values.watch);
  if (!Number.isInteger(n) || n < 2) throw new Error(`--n must be an integer >= 2, got ${values.n}`);
  if (!(watchS > 0)) throw new Error(`--watch must be a positive number of seconds, got ${values.watch}`);
  const root = resolve(import.meta.dirname, '../..');
  const dir = await mkdtemp(join(tmpdir(), 'poolparty-views-'));
  installCleanup(() => void rm(dir, { recursive: true, force: true }));
  const log = (msg: string, f: Record<string, unknown> = {}) =>
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, load1: load1(), ...f })}\n`);
  const build = await buildChildren(root, join(dir, 'build'));
  const pool = new ProcPool({ dir: join(dir, 'pool'), script: build.agent, loopback: new LoopbackBlock() });
  const loadStart = load1();
  try {
    const t0 = await pool.start(n, { startTimeoutMs: 300_000, onProgress: (p) => log('starting', p) });
    log('started', { s: (Date.now() - t0) / 1000 });
    const ids = pool.agents.map((a) => a.id);
    const progress = setInterval(() => {
      const short = pool.tracker.notConverged(ids);
      log('watching', { short: short.length, seen: short.map((id) => pool.tracker.aliveSeenBy(id)) });
    }, 15_000);
    const conv = await pool.until(() => pool.tracker.convergedAt(ids), watchS * 1000);
    clearInterval(progress);
    const rel = (x: number | null) => (x === null ? null : x - t0);
    // Per member, how long after its start each other agent came to hold it alive.
    const lags = pool.agents.map((a) =>
      ids
        .filter((o) => o !== a.id)
        .map((o) => {
          const at = firstAlive(pool, o, a.peerId);
          return at === null ? null : at - a.startedAt;
        }),
    );
    const spread = lags.map((l) => (l.every((x) => x !== null) ? Math.max(0, ...(l as number[])) : null));
    const byPeer = new Map(pool.agents.map((a) => [a.peerId, a.id]));
    const short = pool.tracker.notConverged(ids).map((id) => {
      const a = pool.agents.find((x) => x.id === id);
      const missing = pool.agents.filter((m) => m.id !== id && !holdsAlive(pool, id, m.peerId)).map((m) => m.id);
      return {
        id,
        sees: pool.tracker.aliveSeenBy(id),
        missing,
        failures: a?.logs.length ?? 0,
        lastFailures: (a?.logs ?? []).slice(-4).map((l) => ({ ...l, at: (l.at as number) - t0, bench: undefined })),
      };
    });
    const result = {
      n,
      converged: conv !== null,
      convergedMs: rel(conv),
      startedMs: summarize(pool.agents.slice(1).map((a) => a.startedAt - t0)),
      viewCompleteMs: summarize(pool.tracker.convergedTimes(ids).flatMap((x) => (x === null ? [] : [x - t0]))),
      /** Per member: its start → every agent holds it alive (null: some never did). */
      seenByAllAfterStartMs: summarize(spread.filter((x): x is number => x !== null)),
      membersNotSeenByAll: spread.filter((x) => x === null).length,
      /** Per member: the median and slowest other agent to hold it alive, ms after its start. */
      lagByMember: Object.fromEntries(
        pool.agents.map((a, i) => {
          const l = (lags[i] ?? []).filter((x): x is number => x !== null);
          return [
            a.id,
            { median: summarize(l).median, max: summarize(l).max, missing: (lags[i] ?? []).length - l.length },
          ];
        }),
      ),
      short,
      /** Membership failures all agents logged, by message, and by error text. */
      failures: countBy(pool.agents.flatMap((a) => a.logs.map((l) => `${l.msg}: ${String(l.error ?? '')}`))),
      peers: Object.fromEntries(byPeer),
      load1: { start: loadStart, end: load1() },
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return conv === null ? 1 : 0;
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function countBy(keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

function holdsAlive(pool: ProcPool, observer: string, peer: string): boolean {
  return pool.tracker.seenAliveBy([observer], peer) === 1;
}

/** When `observer` first held `peer` alive (its first joined/recovered event), if it does now. */
function firstAlive(pool: ProcPool, observer: string, peer: string): number | null {
  if (!holdsAlive(pool, observer, peer)) return null;
  const types = new Set(['member-joined', 'member-recovered']);
  const events = pool.tracker.eventsAbout(new Set([peer]), types, 0).filter((e) => e.by === observer);
  return events.length > 0 ? Math.min(...events.map((e) => e.at)) : null;
}

main().then(
  (code) => {
    killAll();
    process.exit(code);
  },
  (err: Error) => {
    process.stderr.write(`views: ${err.message} (${HELP})\n`);
    killAll();
    process.exit(2);
  },
);
