/**
 * What one Prometheus scrape costs an agent: a pool of one agent per process (lib/procpool.ts,
 * the artifact with AGENT_NODE_FLAGS, as it ships), scraped as Prometheus would.
 *
 *   npx tsx test/bench/metrics-scrape.ts [--n 10] [--rounds 8] [--gap 15] [--settle 20] [--agent FILE]
 *                                        [--profile DIR]
 *
 * After the pool converges and --settle seconds pass, every agent's GET /metrics is read once
 * (`first`: a cold render, code not compiled yet), then --rounds more times --gap seconds apart
 * (`steady`: what a scrape every --gap s costs). Each read's CPU is the process's CPU over the
 * request (all threads, from /proc/<pid>/task/<tid>/schedstat, ns), less its idle rate between
 * reads over the same time. Needs the pool lock when --n ≥ 10. Prints one JSON object:
 *
 *   { members, gapS, rounds, load1: [start, end], bytes: { leader, follower },
 *     rssMb: {
      leader: median(rss.filter((_, i) => leads[i])),
      follower: median(rss.filter((_, i) => !leads[i])),
    },
    first: { leaderMs, followerMs }, steady: { leaderMs, followerMs } }
 *
 * where followerMs is the median over followers (first) or over followers and rounds (steady), and
 * leaderMs the median over rounds (the leader also exports every member's metrics).
 * --profile DIR: every agent also writes a V8 CPU profile of 3 s around its first read and around
 * its last (DIR/prof-<pid>-0.cpuprofile, -1), for profile-summary.ts; their CPU is then not a
 * clean figure (the profiler's own cost is in it).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildArtifact } from '../../scripts/build-artifact.mjs';
import { benchArgs } from './lib/args.ts';
import { LoopbackBlock } from './lib/loopback.ts';
import { ProcPool } from './lib/procpool.ts';
import { installCleanup, sampleProc, sleep } from './lib/procs.ts';
import { percentile } from './lib/stats.ts';

const HELP = `metrics-scrape [--n 10] [--rounds 8] [--gap 15] [--settle 20] [--agent FILE]

  --n N         agents in the pool, one per process (default 10)
  --rounds R    scrapes of every agent after the first (default 8)
  --gap S       seconds between rounds (default 15, Prometheus's usual interval)
  --settle S    seconds after convergence before the first scrape (default 20)
  --agent FILE  the bench agent to run (default: test/bench/stall-agent.ts built as the artifact)
  --profile DIR CPU profiles of each agent around its first and last read, written to DIR
  -h, --help    this help`;

const values = benchArgs('metrics-scrape', HELP, {
  n: { type: 'string', default: '10' },
  rounds: { type: 'string', default: '8' },
  gap: { type: 'string', default: '15' },
  settle: { type: 'string', default: '20' },
  agent: { type: 'string' },
  profile: { type: 'string' },
});
const n = Number(values.n);
const rounds = Number(values.rounds);
const gapMs = Number(values.gap) * 1000;
const settleMs = Number(values.settle) * 1000;
if (!(Number.isInteger(n) && n >= 2 && n <= 100)) throw new Error('--n: expected an integer 2..100');
if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 100)) throw new Error('--rounds: expected 1..100');

/** CPU time (ns) of every thread of `pid` so far: schedstat's first field, summed over its tasks. */
function cpuNs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns;
}

interface Read {
  cpuNs: number;
  wallMs: number;
  bytes: number;
  leads: boolean;
  /** Time and CPU at the end of the read: the start of the next idle interval. */
  endNs: number;
  endAt: number;
}

async function scrape(pid: number, url: string): Promise<Read> {
  const c0 = cpuNs(pid);
  const t0 = performance.now();
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const t1 = performance.now();
  const c1 = cpuNs(pid);
  return {
    cpuNs: c1 - c0,
    wallMs: t1 - t0,
    bytes: text.length,
    leads: /^poolparty_is_leader 1$/m.test(text),
    endNs: c1,
    endAt: t1,
  };
}

// --profile: SIGWINCH starts a 3 s CPU profile written to $PP_SCRAPE_PROF-<pid>-<k>.cpuprofile (k: 0 first, 1 last).
const profilePreload = `data:text/javascript,${encodeURIComponent(
  "import{Session as S}from'node:inspector';import{writeFileSync as w}from'node:fs';let k=0;" +
    "process.on('SIGWINCH',()=>{const s=new S(),f=process.env.PP_SCRAPE_PROF+'-'+process.pid+'-'+k++;s.connect();" +
    "s.post('Profiler.enable',()=>s.post('Profiler.start',()=>setTimeout(()=>s.post('Profiler.stop'," +
    "(e,r)=>{if(!e)w(f+'.cpuprofile',JSON.stringify(r.profile));s.disconnect()}),3000)))});",
)}`;
const profileDir = values.profile === undefined ? undefined : resolve(values.profile);

/** With --profile: starts each agent's 3 s profile, waits for the profiler to run, reads, waits it out. */
async function profiled<T>(pids: number[], read: () => Promise<T>): Promise<T> {
  if (!profileDir) return read();
  for (const pid of pids) process.kill(pid, 'SIGWINCH');
  await sleep(500);
  const out = await read();
  await sleep(3000);
  return out;
}

const load1 = () => Number((loadavg()[0] ?? 0).toFixed(2));
const ms = (ns: number) => Math.round(ns / 1e4) / 100;
const median = (xs: number[]) => (xs.length ? percentile(xs, 50) : null);

installCleanup();
const dir = await mkdtemp(join(tmpdir(), 'poolparty-scrape-'));
const script = values.agent
  ? resolve(values.agent)
  : (await buildArtifact({ entry: 'test/bench/stall-agent.ts', outdir: join(dir, 'build'), name: 'bench-agent' })).file;
const pool = new ProcPool({
  dir: join(dir, 'procs'),
  script,
  loopback: new LoopbackBlock(),
  ...(profileDir ? { nodeFlags: [`--import=${profilePreload}`] } : {}),
});
if (profileDir) {
  await mkdir(profileDir, { recursive: true });
  // Each agent's profiles are named after its index (procpool.ts names agents p0, p1, …).
  process.env.PP_SCRAPE_PROF = join(profileDir, 'prof');
}
const loadStart = load1();
try {
  const t0 = await pool.start(n);
  const ids = pool.agents.map((a) => a.id);
  const conv = await pool.until(() => pool.tracker.convergedAt(ids), 60_000);
  if (conv === null) throw new Error(`pool of ${n} did not converge within 60 s`);
  process.stderr.write(`converged in ${conv - t0} ms\n`);
  await sleep(settleMs);
  const agents = pool.agents.map((a) => ({ pid: a.child.pid ?? 0, url: a.monitor }));
  const pids = agents.map((a) => a.pid);
  const first = await profiled(pids, async () => {
    const reads: Read[] = [];
    for (const a of agents) reads.push(await scrape(a.pid, a.url));
    return reads;
  });
  let last = first.slice();
  const steady: Array<{ leads: boolean; netNs: number; bytes: number }> = [];
  for (let r = 0; r < rounds; r++) {
    await sleep(gapMs);
    const now: Read[] = [];
    const each = async (f: () => Promise<void>) => (r === rounds - 1 ? profiled(pids, f) : f());
    await each(async () => {
      for (const [i, a] of agents.entries()) {
        const prev = last[i] as Read;
        const x = await scrape(a.pid, a.url);
        // Idle rate since the previous read ended, charged for the time this read took.
        const idleNsPerMs = (x.endNs - x.cpuNs - prev.endNs) / (x.endAt - x.wallMs - prev.endAt);
        steady.push({ leads: x.leads, netNs: x.cpuNs - Math.max(0, idleNsPerMs) * x.wallMs, bytes: x.bytes });
        now.push(x);
      }
    });
    last = now;
  }
  // VmRSS after the reads: the monitor's code is loaded by then (MB, one decimal).
  const rss = agents.map((a) => Math.round((sampleProc(a.pid)?.rssBytes ?? 0) / 104_857.6) / 10);
  const leads = last.map((x) => x.leads);
  const firstLeader = first.filter((x) => x.leads).map((x) => x.cpuNs);
  const firstFollower = first.filter((x) => !x.leads).map((x) => x.cpuNs);
  const out = {
    members: n,
    gapS: gapMs / 1000,
    rounds,
    load1: [loadStart, load1()],
    bytes: {
      leader: median(steady.filter((x) => x.leads).map((x) => x.bytes)),
      follower: median(steady.filter((x) => !x.leads).map((x) => x.bytes)),
    },
    rssMb: {
      leader: median(rss.filter((_, i) => leads[i])),
      follower: median(rss.filter((_, i) => !leads[i])),
    },
    first: { leaderMs: ms(median(firstLeader) ?? 0), followerMs: ms(median(firstFollower) ?? 0) },
    steady: {
      leaderMs: ms(median(steady.filter((x) => x.leads).map((x) => x.netNs)) ?? 0),
      followerMs: ms(median(steady.filter((x) => !x.leads).map((x) => x.netNs)) ?? 0),
      followerP90Ms: ms(
        percentile(
          steady.filter((x) => !x.leads).map((x) => x.netNs),
          90,
        ) ?? 0,
      ),
    },
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
} finally {
  await pool.close();
  await rm(dir, { recursive: true, force: true });
}
