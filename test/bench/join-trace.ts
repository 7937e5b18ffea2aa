import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { addCounts, type SwimCounts } from '../../agent/membership/swim/counts.ts';
import { bySecond, joinPhases } from './join-phases.ts';
import { benchArgs } from './lib/args.ts';
import { buildChildren } from './lib/build.ts';
import { InprocPool } from './lib/inproc.ts';
import { LoopbackBlock } from './lib/loopback.ts';
import { installCleanup, killAll, type ProcSample, rates, sampleProc } from './lib/procs.ts';
import { summarize } from './lib/stats.ts';

/**
 * A join storm second by second (issue 13: N agents start → every agent sees all). Starts N
 * in-process agents as the join-convergence bench does (a seed, then N-1 at once, each with a few
 * of the agents before it as bootstrap addresses, or the seed alone with --one-seed) and, every
 * second until every view holds all N alive, records how many (agent, member) pairs are still
 * missing, how many agents have not joined yet, and the host processes' CPU. Prints one JSON line;
 * the timeline also goes to stderr as it runs.
 */

const HELP = `npx tsx test/bench/join-trace.ts [--n N] [--per-host K] [--watch SECONDS] [--prof DIR] [--no-crash] [--seed-alone] [--one-seed]

Starts N in-process agents (hosts of K agents each; the seed first, then N-1 at once, each given a
random few of the agents before it as the local launcher gives them: the seed and earlier joiners)
and traces the join storm second by second until every view holds all N alive.

Options:
  --n N            agents (default 50)
  --per-host K     agents per host process (default 50)
  --watch SECONDS  how long to wait for every view to hold all N alive (default 40)
  --prof DIR       write a CPU profile of each host process into DIR (node --cpu-prof)
  --no-crash       end after the storm (no crash of a member afterwards: crash is null)
  --seed-alone     the seed in a host process of its own, the N-1 joiners in the others
                   (whether the seed's event loop is what holds the storm back)
  --one-seed       every joiner's only bootstrap address is the seed (the bench before session 19)

Environment: PP_BENCH_LOG=<regex> makes every bench host print the agent log lines whose message
matches to stderr, one JSON object each (e.g. PP_BENCH_LOG='join-dial|sync-failed').
  -h, --help       this help

Prints one JSON line:
  convergedMs   start of the N-1 → the last view holding all N alive (null: not within --watch)
  timeline      per second: s, missing (agent, member) pairs not held alive, notJoined (agents
                that hold nobody and nobody holds), hostCpuPct (per host, % of one core),
                conns (connected peers summed over agents; an edge counts at both ends), connsMax
  phases        the critical path per joiner (join-phases.ts), median/p90/max ms after the start:
                pulled (seed answered, table merged), seedHolds (the seed holds it), heardByHalf,
                heardByAll (the last other agent holds it), spread (heardByAll - pulled);
                seedAdmitsBySecond, notHeardByAll
  joinedMs      per joiner: start → its first member-joined event (its join answered), summarized
  joinsBySecond joiners whose join was answered in each second
  lastPairs     at most 12 pairs still missing at the end: observer, member (indexes, 0 = seed)
  hostLag       per host: event-loop delay over the run (mean, p99, max ms)
  load1         1-minute load average at the start and at the end
  storm         member-dead and member-suspect events after the start, over every view
  swim          the membership cores' counters summed over all agents at the storm's end
                (agent/membership/swim/counts.ts): probes failed (no nack, late), suspicions
                started, deaths declared, suspicions rerouted to the topic, alives flooded,
                incarnation (the sum = refutations) and awarenessPeak (summed)
Exit code 0 when every view holds all N alive within --watch, 1 otherwise, 2 on a usage error.`;

const load1 = () => Number((loadavg()[0] ?? 0).toFixed(1));

async function main(): Promise<number> {
  const values = benchArgs('join-trace', HELP, {
    n: { type: 'string', default: '50' },
    'per-host': { type: 'string', default: '50' },
    watch: { type: 'string', default: '40' },
    prof: { type: 'string' },
    'no-crash': { type: 'boolean', default: false },
    'seed-alone': { type: 'boolean', default: false },
    'one-seed': { type: 'boolean', default: false },
  });
  const n = Number(values.n);
  const perHost = Number(values['per-host']);
  const watchS = Number(values.watch);
  if (!Number.isInteger(n) || n < 2) throw new Error(`--n must be an integer >= 2, got ${values.n}`);
  if (!Number.isInteger(perHost) || perHost < 1) throw new Error(`--per-host must be a positive integer`);
  if (!(watchS > 0)) throw new Error(`--watch must be a positive number of seconds, got ${values.watch}`);
  const root = resolve(import.meta.dirname, '../..');
  const dir = await mkdtemp(join(tmpdir(), 'poolparty-join-trace-'));
  installCleanup(() => void rm(dir, { recursive: true, force: true }));
  // Under the repository: the host's packages are resolved from its node_modules.
  const build = await buildChildren(root, join(root, 'bench-results', 'build'));
  const prof = values.prof ? ['--cpu-prof', `--cpu-prof-dir=${resolve(values.prof)}`] : [];
  const pool = new InprocPool({
    n,
    perHost,
    hostScript: build.host,
    dir: join(dir, 'pool'),
    loopback: new LoopbackBlock(),
    nodeFlags: prof,
    seedAlone: values['seed-alone'],
    oneSeed: values['one-seed'],
  });
  const loadStart = load1();
  try {
    await pool.prepare();
    await pool.lag();
    let cpu: Array<ProcSample | null> = pool.hostPids.map(sampleProc);
    const t0 = await pool.startRest();
    const timeline: Array<{
      s: number;
      missing: number;
      notJoined: number;
      hostCpuPct: number[];
      conns: number;
      connsMax: number;
    }> = [];
    let convergedMs: number | null = null;
    for (let s = 1; s <= watchS; s++) {
      await new Promise((r) => setTimeout(r, t0 + s * 1000 - Date.now()));
      await pool.poll();
      const now = pool.hostPids.map(sampleProc);
      const hostCpuPct = now.map((b, i) => {
        const a = cpu[i];
        return a && b ? Math.round(rates(a, b).cpuPct) : -1;
      });
      cpu = now;
      const m = pool.tracker.missingPairs(pool.peers);
      const c = await pool.connections();
      const conns = c.reduce((a, b) => a + b, 0);
      timeline.push({
        s,
        missing: m.missing,
        notJoined: m.neverJoined.length,
        hostCpuPct,
        conns,
        connsMax: Math.max(...c),
      });
      process.stderr.write(`${s}s:${m.missing}/${m.neverJoined.length} `);
      const at = pool.tracker.convergedAt(pool.peers);
      if (at !== null) {
        convergedMs = at - t0;
        break;
      }
    }
    process.stderr.write('\n');
    const everyone = new Set(pool.peers);
    const count = (type: string) => pool.tracker.eventsAbout(everyone, new Set([type]), t0).length;
    const phases = joinPhases(pool.tracker, pool.peers, t0);
    const storm = { memberDead: count('member-dead'), memberSuspect: count('member-suspect') };
    const swim = (await pool.ask<SwimCounts>({ op: 'swim' })).reduce(addCounts);
    const crash = values['no-crash'] ? null : await crashAfter(pool);
    const joined = joinTimes(pool, t0);
    const result = {
      n,
      perHost,
      seedAlone: values['seed-alone'],
      oneSeed: values['one-seed'],
      convergedMs,
      timeline,
      joinedMs: summarize(joined.filter((x): x is number => x !== null)),
      notJoined: joined.filter((x) => x === null).length,
      joinsBySecond: bySecond(joined),
      phases,
      lastPairs: missingPairs(pool).slice(0, 12),
      hostLag: (await pool.lag()).map((l) => ({
        meanMs: Math.round(l.meanMs),
        p99Ms: Math.round(l.p99Ms),
        maxMs: Math.round(l.maxMs),
      })),
      load1: { start: loadStart, end: load1() },
      storm,
      swim,
      crash,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return convergedMs === null ? 1 : 0;
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A crash after the storm (as the failure-detection bench does: its address refuses) on the
 * loaded host: how long until every agent that held the victim alive marks it dead.
 */
async function crashAfter(pool: InprocPool) {
  // Then a crash (as the failure-detection bench does: its address refuses) on the loaded host.
  // The non-seed member the most views hold alive (a random one is often held by nobody yet).
  const heldBy = (m: string) => pool.tracker.seenAliveBy(pool.alivePeers, m);
  const victim = pool.alivePeers.slice(1).reduce((a, b) => (heldBy(b) > heldBy(a) ? b : a));
  const holders = pool.alivePeers.filter((o) => o !== victim && pool.tracker.seenAliveBy([o], victim) === 1);
  const crashAt = await pool.crash([victim]);
  const lastOf = (type: string) => {
    const times = pool.tracker.firstEvent(holders, type, victim, crashAt);
    return times.every((x) => x !== null) ? Math.max(...(times as number[])) : null;
  };
  const deadAt = await pool.until(() => lastOf('member-dead'), 30_000);
  const heard = pool.tracker.firstEvent(holders, 'member-dead', victim, crashAt).filter((x) => x !== null);
  return {
    holders: holders.length,
    deadMs: deadAt && deadAt - crashAt,
    suspectMs: (lastOf('member-suspect') ?? Number.NaN) - crashAt,
    deadSeenBy: heard.length,
    medianDeadMs: summarize(heard.map((x) => (x as number) - crashAt)),
  };
}

/** Per joiner (agents 1..n-1): start → its first member-joined event (null: none yet). */
function joinTimes(pool: InprocPool, t0: number): Array<number | null> {
  const all = new Set(pool.peers);
  const events = pool.tracker.eventsAbout(all, new Set(['member-joined']), 0);
  return pool.peers.slice(1).map((id) => {
    const own = events.filter((e) => e.by === id).map((e) => e.at);
    return own.length > 0 ? Math.min(...own) - t0 : null;
  });
}

/** (observer, member) index pairs where the observer does not hold the member alive. */
function missingPairs(pool: InprocPool): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  pool.peers.forEach((o, i) => {
    pool.peers.forEach((m, j) => {
      if (i !== j && pool.tracker.seenAliveBy([o], m) === 0) out.push([i, j]);
    });
  });
  return out;
}

main().then(
  (code) => {
    killAll();
    process.exit(code);
  },
  (err: Error) => {
    process.stderr.write(`join-trace: ${err.message} (see --help)\n`);
    killAll();
    process.exit(2);
  },
);
