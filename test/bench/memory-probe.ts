/**
 * What an idle follower's memory is made of at a given pool size: N agents, one per process, as the
 * idle-cost bench starts them (lib/procpool.ts, the artifact build of stall-agent.ts), then after
 * convergence and --idle seconds, for every follower: VmRSS, RssAnon and RssFile (/proc/PID/status)
 * and its connections (/proc/net/tcp); for the first --probe followers also process.memoryUsage(),
 * V8's heap spaces, its GCs during the idle window (count and ms by kind), the number of Node builtins
 * it loaded and /proc/PID/smaps_rollup, read through a preload on SIGWINCH; with --snapshot
 * DIR the first probed follower writes a V8 heap snapshot there (SIGURG), for
 * test/bench/heap-summary.ts. Usage: HELP below.
 */
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildDist } from '../../scripts/build.mjs';
import { buildArtifact } from '../../scripts/build-artifact.mjs';
import { benchArgs } from './lib/args.ts';
import { LoopbackBlock, P2P_PORT } from './lib/loopback.ts';
import { MixedPool } from './lib/mixed-pool.ts';
import { privateMaps } from './lib/private-maps.ts';
import { ProcPool } from './lib/procpool.ts';
import { installCleanup, rates, sampleProc, sleep } from './lib/procs.ts';
import { summarize } from './lib/stats.ts';

const HELP = `npx tsx test/bench/memory-probe.ts [--n 10] [--idle 60] [--probe 3] [--snapshot DIR]

Options:
  --n N            agents, one per process (default 10)
  --idle S         seconds after convergence before measuring (default 60)
  --probe K        followers read in detail (memoryUsage, heap spaces, smaps_rollup; default 3)
  --snapshot DIR   the first probed follower writes a heap snapshot to DIR
  --converge S     longest wait for convergence (default 240); measured anyway after it
  --no-minify      build the agent unminified (constructor names in the snapshot; not what ships)
  --mixed K        only K agents are processes (all probed, joining last); the other N-K run
                   in-process, --per-host to a bench host process (test/bench/host.ts): a lighter
                   pool of size N around the measured processes
  --per-host H     in-process agents per host process with --mixed (default 13)
  --variant FLAGS  with --mixed: extra node flags (space-separated) for some processes; repeatable.
                   Process i runs variant i mod (variants + 1), 0 = none: A/B in one pool
  -h, --help       this help

Prints one JSON object on stdout.`;

const values = benchArgs('memory-probe', HELP, {
  n: { type: 'string', default: '10' },
  idle: { type: 'string', default: '60' },
  probe: { type: 'string', default: '3' },
  snapshot: { type: 'string', default: '' },
  converge: { type: 'string', default: '240' },
  'no-minify': { type: 'boolean', default: false },
  mixed: { type: 'string', default: '0' },
  'per-host': { type: 'string', default: '13' },
  variant: { type: 'string', multiple: true, default: [] },
});
const n = Number(values.n);
const probe = Number(values.probe);
const load1 = () => Number((loadavg()[0] ?? 0).toFixed(1));

const dir = await mkdtemp(join(tmpdir(), 'poolparty-memory-probe-'));
installCleanup(() => rmSync(dir, { recursive: true, force: true }));
const memDir = join(dir, 'mem');
await mkdir(memDir, { recursive: true });
const snapDir = values.snapshot ? resolve(values.snapshot) : '';
if (snapDir) await mkdir(snapDir, { recursive: true });
// SIGWINCH: memoryUsage, heap spaces, GCs so far ([count, ms] by kind: 1 scavenge, 4 mark-compact, 8
// incremental marking, 16 weak callbacks; node:perf_hooks, which prom-client loads in the agent
// anyway) and the Node builtins loaded to $PP_MEM_DIR/<pid>.json (renamed into place whole); SIGURG: a heap snapshot
// to $PP_SNAP_DIR.
const preload = `data:text/javascript,${encodeURIComponent(
  "import{writeFileSync as w,renameSync as r}from'node:fs';import v from'node:v8';import{PerformanceObserver as P}from'node:perf_hooks';" +
    'const d=process.env.PP_MEM_DIR;const g={};new P((l)=>{for(const e of l.getEntries()){const k=e.detail?.kind??0;' +
    'const c=(g[k]??=[0,0]);c[0]++;c[1]+=e.duration}}).observe({entryTypes:["gc"]});' +
    "process.on('SIGWINCH',()=>{const f=d+'/'+process.pid;w(f+'.part',JSON.stringify({mem:process.memoryUsage()," +
    "spaces:v.getHeapSpaceStatistics(),heap:v.getHeapStatistics(),gc:g,builtins:process.moduleLoadList}));r(f+'.part',f+'.json')});" +
    "process.on('SIGURG',()=>{v.writeHeapSnapshot(process.env.PP_SNAP_DIR+'/n'+process.env.PP_N+'-'+process.pid+'.heapsnapshot');" +
    "w(d+'/'+process.pid+'.snap','')});",
)}`;
process.env.PP_MEM_DIR = memDir;
process.env.PP_SNAP_DIR = snapDir;
process.env.PP_N = String(n);

const ipOf = (hex: string) => {
  const v = Number.parseInt(hex, 16);
  return [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255].join('.');
};
function connectionsByIp(): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== '01') continue;
    const [la, lp] = (f[1] as string).split(':') as [string, string];
    const rp = Number.parseInt((f[2] as string).split(':')[1] as string, 16);
    if (Number.parseInt(lp, 16) !== P2P_PORT && rp !== P2P_PORT) continue;
    m.set(ipOf(la), (m.get(ipOf(la)) ?? 0) + 1);
  }
  return m;
}
const mb = (kb: number) => Number((kb / 1024).toFixed(1));
function kbFields(text: string): Record<string, number> {
  const o: Record<string, number> = {};
  for (const m of text.matchAll(/^(\w+):\s+(\d+) kB$/gm)) o[m[1] as string] = mb(Number(m[2]));
  return o;
}
async function waitFile(file: string, ms: number): Promise<string | null> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(200)) {
    try {
      return await readFile(file, 'utf8');
    } catch {
      // not yet
    }
  }
  return null;
}

const rssOf = (pid: number) => kbFields(readFileSync(`/proc/${pid}/status`, 'utf8')).VmRSS ?? 0;
const mean = (xs: number[]) => Number((xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)).toFixed(1));

interface Measured {
  id: string;
  ip: string;
  child: { pid?: number | undefined; kill(signal: NodeJS.Signals): boolean };
}
interface Inside {
  mem: Record<string, number>;
  spaces: Array<{ space_name: string; space_used_size: number; physical_space_size: number }>;
  heap: Record<string, number>;
  gc: Record<string, [number, number]>;
  builtins: string[];
}

/** What the preload reports from inside `a` now (null if it did not answer in 10 s). */
async function inside(a: Measured): Promise<Inside | null> {
  const file = join(memDir, `${a.child.pid ?? 0}.json`);
  a.child.kill('SIGWINCH');
  const j = await waitFile(file, 10_000);
  await rm(file, { force: true });
  return j ? (JSON.parse(j) as Inside) : null;
}

/**
 * One row per measured agent; the first `probe` also read from inside (and the first snapshotted),
 * their GCs counted since `gc0` (the start of the idle window).
 */
async function measure(agents: Measured[], gc0: Map<string, Inside['gc']>): Promise<Array<Record<string, unknown>>> {
  const conns = connectionsByIp();
  const each = [];
  for (const [i, a] of agents.entries()) {
    const pid = a.child.pid ?? 0;
    const status = kbFields(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const row: Record<string, unknown> = {
      id: a.id,
      rssMb: status.VmRSS,
      anonMb: status.RssAnon,
      fileMb: status.RssFile,
      connections: conns.get(a.ip) ?? 0,
    };
    if (i < probe) {
      const d = await inside(a);
      if (d) {
        row.memoryUsageMb = Object.fromEntries(Object.entries(d.mem).map(([k, v]) => [k, mb(v / 1024)]));
        row.heapSpacesUsedPhysMb = Object.fromEntries(
          d.spaces
            .filter((s) => s.physical_space_size > 0)
            .map((s) => [s.space_name, [mb(s.space_used_size / 1024), mb(s.physical_space_size / 1024)]]),
        );
        row.mallocedMb = mb((d.heap.malloced_memory ?? 0) / 1024);
        const before = gc0.get(a.id) ?? {};
        row.idleGcCountMs = Object.fromEntries(
          Object.entries(d.gc).map(([k, [c, ms]]) => [
            k,
            [c - (before[k]?.[0] ?? 0), Math.round(ms - (before[k]?.[1] ?? 0))],
          ]),
        );
        row.builtins = i === 0 ? d.builtins : d.builtins.length;
      }
      const r = kbFields(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      row.smapsRollupMb = {
        Rss: r.Rss,
        Pss: r.Pss,
        Anonymous: r.Anonymous,
        Private_Dirty: r.Private_Dirty,
        Shared_Clean: r.Shared_Clean,
      };
      row.privateKb = privateMaps(pid);
      if (i === 0 && snapDir) {
        a.child.kill('SIGURG');
        await waitFile(join(memDir, `${pid}.snap`), 120_000);
      }
    }
    each.push(row);
  }
  return each;
}

const mixed = Number(values.mixed);
const loopback = new LoopbackBlock();
const build = join(dir, 'build');
const minify = !values['no-minify'];
const agentFile = resolve(
  (await buildArtifact({ entry: 'test/bench/stall-agent.ts', outdir: build, name: 'bench-agent', minify })).file,
);
const nodeFlags = ['--import', preload];
let pool: ProcPool | MixedPool;
if (mixed > 0) {
  // Beside the repository's node_modules: the host build leaves packages external.
  const hostDir = resolve('bench-results', 'build');
  await buildDist({ entries: { 'bench-host-memory-probe': resolve('test/bench/host.ts') }, outdir: hostDir });
  const hostScript = join(hostDir, 'bench-host-memory-probe.mjs');
  const variants = [[], ...values.variant.map((v) => v.split(' ').filter(Boolean))];
  const flagsOf = (i: number) => [...nodeFlags, ...(variants[i % variants.length] as string[])];
  pool = new MixedPool({
    n,
    k: mixed,
    perHost: Number(values['per-host']),
    hostScript,
    script: agentFile,
    dir: join(dir, 'pool'),
    loopback,
    nodeFlags: flagsOf,
  });
} else {
  pool = new ProcPool({ dir: join(dir, 'pool'), script: agentFile, loopback, nodeFlags });
}
try {
  const progress = (p: Record<string, unknown>) => process.stderr.write(`${JSON.stringify(p)}\n`);
  const t0 =
    pool instanceof ProcPool
      ? await pool.start(n, { startTimeoutMs: 300_000, onProgress: progress })
      : await pool.start();
  const ids = pool.agents.map((a) => a.id);
  const seenNow = () => ids.map((id) => pool.tracker.aliveSeenBy(id));
  const tick = setInterval(
    () => progress({ s: Math.round((Date.now() - t0) / 1000), aliveSeen: seenNow(), load1: load1() }),
    15_000,
  );
  const conv = await pool.until(() => pool.tracker.convergedAt(ids), Number(values.converge) * 1000);
  clearInterval(tick);
  const seen = seenNow();
  const loadAtConv = load1();
  const cpu0 = new Map(pool.agents.map((a) => [a.id, sampleProc(a.child.pid ?? 0)]));
  const gc0 = new Map<string, Inside['gc']>();
  for (const a of pool.agents as Measured[]) gc0.set(a.id, (await inside(a))?.gc ?? {});
  // VmRSS every 5 s over the idle window: its mean is less at the mercy of when the last GC ran.
  const rssSeries = new Map<string, number[]>(pool.agents.map((a) => [a.id, []]));
  const idleEnd = Date.now() + Number(values.idle) * 1000;
  for (; Date.now() < idleEnd; await sleep(Math.min(5000, idleEnd - Date.now()))) {
    for (const a of pool.agents) rssSeries.get(a.id)?.push(rssOf(a.child.pid ?? 0));
  }
  const cpuPct = new Map(
    pool.agents.map((a) => {
      const [x, y] = [cpu0.get(a.id), sampleProc(a.child.pid ?? 0)];
      return [a.id, x && y ? Number(rates(x, y).cpuPct.toFixed(2)) : null];
    }),
  );
  const leaders = new Set(ids.map((id) => pool.tracker.leaderOf(id)?.peerId));
  const followers = (pool.agents as Measured[]).filter(
    (a) => !leaders.has((a as unknown as { peerId: string }).peerId),
  );
  const each: Array<Record<string, unknown>> = (await measure(followers, gc0)).map((r) => ({
    ...r,
    cpuPct: cpuPct.get(r.id as string),
    rssIdleMeanMb: mean(rssSeries.get(r.id as string) ?? []),
    flags: ((pool.agents.find((a) => a.id === r.id) as { flags?: string[] }).flags ?? [])
      .filter((f) => f !== '--import' && !f.startsWith('data:'))
      .join(' '),
  }));
  const col = (k: string) =>
    summarize(
      each.map((r) => r[k] as number),
      1,
    );
  process.stdout.write(
    `${JSON.stringify({
      date: new Date().toISOString(),
      n,
      processes: mixed > 0 ? mixed : n,
      minify,
      idleS: Number(values.idle),
      convergedMs: conv && conv - t0,
      aliveSeenAtConvergence: seen,
      aliveSeenAtMeasure: seenNow(),
      load1: { converged: loadAtConv, measured: load1() },
      followers: {
        n: followers.length,
        rssMb: col('rssMb'),
        rssIdleMeanMb: col('rssIdleMeanMb'),
        anonMb: col('anonMb'),
        fileMb: col('fileMb'),
        connections: col('connections'),
      },
      each,
    })}\n`,
  );
} finally {
  await pool.close();
  await rm(dir, { recursive: true, force: true });
}
