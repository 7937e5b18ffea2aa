import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchArgs } from './lib/args.ts';
import { buildChildren } from './lib/build.ts';
import { LoopbackBlock } from './lib/loopback.ts';
import { ProcPool } from './lib/procpool.ts';
import { installCleanup, killAll } from './lib/procs.ts';
import { summarize } from './lib/stats.ts';

/**
 * Stale views at N, one agent per process (issue 13: "an agent missing a live member 5 s after its
 * join: 0, in every run"). Starts N agents as the idle-cost bench does (a seed, then N-1 at once),
 * watches every view until each agent sees all N alive or `--watch` seconds pass, and prints one
 * JSON line. Progress goes to stderr.
 *
 * A member's JOIN is its first successful contact with the pool, read from its own event stream:
 * the first `member-joined` it emits about another member. For a joiner that is the moment its join
 * sync was answered by a seed and merged (the seed's table carries records, so the event is not held
 * back for one); for the first seed, the moment the first joiner reached it. Process start → join
 * (startup: loading the artifact, libp2p, the join dial on a machine busy starting N processes) is
 * reported apart from join → seen (the spread this issue is about).
 *
 * An agent A MISSES member M when A has not held M alive (its first member-joined/-recovered about
 * M) 5 s after both had joined: max(join(M), join(A)) + 5 s. A view cannot hold a member before
 * its own join, so the deadline of a pair counts from the later of the two.
 */

const HELP = `npx tsx test/bench/views.ts [--n N] [--watch SECONDS]

Starts N agents (one per process, the artifact build) and reports how fast each member's join
reaches every view (issue 13: no agent may miss a live member 5 s after its join).

Options:
  --n N            agents (default 20)
  --watch SECONDS  how long to wait for every view to hold all N alive (default 180)
  -h, --help       this help

Prints one JSON line:
  startToJoinMs        per member: process spawned -> its join (first member-joined it emitted)
  startedToJoinMs      per member: agent.start() resolved -> its join
  joinToSeenByAllMs    per member: its join -> the last other agent first holding it alive
  pairLagMs            per (agent, member): max(join of both) -> agent first holds member alive
  missing5s            (agent, member) pairs not holding alive 5 s after both joined (target 0)
  missing5sWorst       the worst few of those: observer, member, lag (null: never)
  members              per member: join, startToJoin, seenByAll, missing5s (ms, run start = 0)
Exit code 0 when every view holds all N alive within --watch, 1 otherwise, 2 on a usage error.`;

/** The target: a view holds a member this long after both joined (ms). */
const WITHIN_MS = 5_000;

const load1 = () => Number((loadavg()[0] ?? 0).toFixed(1));

async function main(): Promise<number> {
  const values = benchArgs('views', HELP, {
    n: { type: 'string', default: '20' },
    watch: { type: 'string', default: '180' },
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
    const spawnedSeed = Date.now();
    const t0 = await pool.start(n, { startTimeoutMs: 300_000, onProgress: (p) => log('starting', p) });
    log('started', { s: (Date.now() - t0) / 1000 });
    const ids = pool.agents.map((a) => a.id);
    const progress = setInterval(() => {
      const short = pool.tracker.notConverged(ids);
      log('watching', { short: short.length, seen: short.map((id) => pool.tracker.aliveSeenBy(id)) });
    }, 15_000);
    const conv = await pool.until(() => pool.tracker.convergedAt(ids), watchS * 1000);
    clearInterval(progress);
    // Events already in: a pair's deadline may lie past the end of the watch only for views that never converged.
    const end = Date.now();
    const figures = viewFigures(pool, spawnedSeed, t0, end);
    const result = {
      n,
      converged: conv !== null,
      convergedMs: conv === null ? null : conv - t0,
      ...figures,
      short: shortViews(pool, ids, t0),
      /** Membership failures all agents logged, by message, and by error text. */
      failures: countBy(pool.agents.flatMap((a) => a.logs.map((l) => `${l.msg}: ${String(l.error ?? '')}`))),
      load1: { start: loadStart, end: load1() },
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return conv === null ? 1 : 0;
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The issue's figures from the agents' own event streams (times relative to t0, when the N-1
 * joiners were spawned; the seed was spawned at `spawnedSeed`). `end`: when watching stopped.
 */
function viewFigures(pool: ProcPool, spawnedSeed: number, t0: number, end: number) {
  const agents = pool.agents;
  const byPeer = new Map(agents.map((a) => [a.peerId, a.id]));
  const joinOf = new Map(agents.map((a) => [a.id, joinedAt(pool, a.id, byPeer)]));
  const rel = (x: number | null) => (x === null ? null : x - t0);
  const pairs: Array<{ observer: string; member: string; lagMs: number | null }> = [];
  const members = agents.map((m, i) => {
    const join = joinOf.get(m.id) ?? null;
    let seenByAll: number | null = join === null ? null : join;
    let missing = 0;
    for (const a of agents) {
      if (a.id === m.id) continue;
      const seen = firstAlive(pool, a.id, m.peerId);
      if (seenByAll !== null) seenByAll = seen === null ? null : Math.max(seenByAll, seen);
      const aJoin = joinOf.get(a.id) ?? null;
      if (join === null || aJoin === null) continue;
      const from = Math.max(join, aJoin);
      if (from + WITHIN_MS > end && seen === null) continue; // its 5 s had not run out when watching stopped
      const lagMs = seen === null ? null : Math.max(0, seen - from);
      pairs.push({ observer: a.id, member: m.id, lagMs });
      if (lagMs === null || lagMs > WITHIN_MS) missing++;
    }
    const spawned = i === 0 ? spawnedSeed : t0;
    return {
      id: m.id,
      joinMs: rel(join),
      startToJoinMs: join === null ? null : join - spawned,
      startedToJoinMs: join === null ? null : join - m.startedAt,
      seenByAllMs: join === null || seenByAll === null ? null : seenByAll - join,
      missing5s: missing,
    };
  });
  const some = (xs: Array<number | null>) => xs.filter((x): x is number => x !== null);
  const late = pairs.filter((p) => p.lagMs === null || p.lagMs > WITHIN_MS);
  return {
    startToJoinMs: summarize(some(members.map((m) => m.startToJoinMs))),
    startedToJoinMs: summarize(some(members.map((m) => m.startedToJoinMs))),
    joinToSeenByAllMs: summarize(some(members.map((m) => m.seenByAllMs))),
    pairLagMs: { ...summarize(some(pairs.map((p) => p.lagMs))), samples: undefined },
    pairs: pairs.length,
    missing5s: late.length,
    missing5sWorst: late.sort((a, b) => (b.lagMs ?? Infinity) - (a.lagMs ?? Infinity)).slice(0, 8),
    membersNeverJoined: members.filter((m) => m.joinMs === null).map((m) => m.id),
    members,
    viewCompleteMs: summarize(some(pool.tracker.convergedTimes(agents.map((a) => a.id)).map(rel))),
    peers: Object.fromEntries(byPeer),
  };
}

/** Views still short at the end: whom they miss, and the membership failures they logged. */
function shortViews(pool: ProcPool, ids: readonly string[], t0: number) {
  return pool.tracker.notConverged(ids).map((id) => {
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
}

function countBy(keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

function holdsAlive(pool: ProcPool, observer: string, peer: string): boolean {
  return pool.tracker.seenAliveBy([observer], peer) === 1;
}

const ALIVE = new Set(['member-joined', 'member-recovered']);

/** When `observer` first held `peer` alive (its first joined/recovered event about it), whatever it holds now. */
function firstAlive(pool: ProcPool, observer: string, peer: string): number | null {
  const events = pool.tracker.eventsAbout(new Set([peer]), ALIVE, 0).filter((e) => e.by === observer);
  return events.length > 0 ? Math.min(...events.map((e) => e.at)) : null;
}

/** A member's join: the first member-joined it emitted about another agent of the pool. */
function joinedAt(pool: ProcPool, id: string, byPeer: ReadonlyMap<string, string>): number | null {
  const others = new Set([...byPeer].filter(([, a]) => a !== id).map(([p]) => p));
  const own = pool.tracker.eventsAbout(others, new Set(['member-joined']), 0).filter((e) => e.by === id);
  return own.length > 0 ? Math.min(...own.map((e) => e.at)) : null;
}

main().then(
  (code) => {
    killAll();
    process.exit(code);
  },
  (err: Error) => {
    process.stderr.write(`views: ${err.message} (see --help)\n`);
    killAll();
    process.exit(2);
  },
);
