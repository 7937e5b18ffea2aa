/**
 * Where an idle follower's CPU goes in a pool of one-agent processes (issue 13): N agents as the
 * idle-cost bench starts them (lib/procpool.ts, the diagnostic build of test/bench/idle-agent.ts),
 * then, once every agent sees all and --settle seconds have passed, K followers (never the leader)
 * record for --window seconds: a V8 CPU profile, timer callbacks per second by the line that armed
 * them, GCs by kind, their own CPU and what they sent (lib/flow-counter.ts). Every other agent's CPU
 * over the same window is printed beside them (the medians, not the profiled ones). Summarise a
 * profile with test/bench/profile-summary.ts. Usage: HELP below. Needs root (iptables).
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDist } from '../../scripts/build.mjs';
import { benchArgs } from './lib/args.ts';
import { wedgeReport } from './lib/kernel-state.ts';
import { LoopbackBlock, P2P_PORT } from './lib/loopback.ts';
import { MixedPool } from './lib/mixed-pool.ts';
import { ProcPool } from './lib/procpool.ts';
import { installCleanup, type ProcSample, rates, sampleProc, sleep } from './lib/procs.ts';
import { connectionsPerAddress } from './lib/sockets.ts';
import { summarize } from './lib/stats.ts';
import { WireCounter } from './lib/wire.ts';

const HELP = `npx tsx test/bench/idle-profile.ts [--n 10] [--mixed K] [--b DIR] [--profile 2] [--settle 30] [--window 60]

Options:
  --n N         agents, one per process (default 10)
  --mixed K     only K agents are processes, joining N-K in-process agents last (lib/mixed-pool.ts):
                all K are followers; for an N the machine cannot start as processes
  --b DIR       odd-numbered processes run the agent built from the repository at DIR (B), even
                ones this one's (A): an A/B in one pool and one window (CPU and mean RSS of each)
  --profile K   followers profiled (default 2; 0 for an A/B)
  --alloc B     also record what the profiled followers allocate, garbage included (V8's sampling
                heap profiler, one sample per B bytes, e.g. 4096): DIR/idle-n<N>-<pid>.heapprofile
  --flags F     extra node flags for every process, space-separated (e.g. --expose-gc for a B that needs it)
  --b-flags F   extra node flags for the odd-numbered processes only (B): an A/B of flags (all processes)
  --converge S  longest wait for every agent to see all (default 150); the window starts anyway
  --settle S    seconds idle after every agent sees all, before the window (default 30)
  --window S    seconds profiled (default 60)
  --out DIR     where profiles and the JSON go (default bench-results/profiles)
  --minify      profile the minified artifact (function names lost)
  --plain       with --profile 0: the agents as the idle-cost bench runs them (minified, no profiling
                preload, no flow counter; unminified source alone adds MBs of RSS): for A/B figures
  -h, --help    this help

Writes DIR/idle-n<N>-<pid>.{cpuprofile,json} per profiled follower; prints one JSON line.`;

const values = benchArgs('idle-profile', HELP, {
  n: { type: 'string', default: '10' },
  mixed: { type: 'string', default: '0' },
  b: { type: 'string' },
  profile: { type: 'string', default: '2' },
  converge: { type: 'string', default: '150' },
  settle: { type: 'string', default: '30' },
  window: { type: 'string', default: '60' },
  out: { type: 'string', default: 'bench-results/profiles' },
  minify: { type: 'boolean', default: false },
  flags: { type: 'string', default: '' },
  alloc: { type: 'string', default: '0' },
  'b-flags': { type: 'string', default: '' },
  plain: { type: 'boolean', default: false },
});
const n = Number(values.n);
const k = Number(values.profile);
/** --plain: the agent as the idle-cost bench runs it (no preload, no flow counter): RSS and CPU comparable to its figures. */
const plain = Boolean(values.plain);
if (plain && (k > 0 || Number(values.alloc) > 0)) throw new Error('--plain records nothing: use it with --profile 0');
const windowS = Number(values.window);
const outDir = resolve(values.out as string);

/**
 * Loaded before the agent in every process, idle until SIGWINCH: then for PP_PROF_S seconds a CPU
 * profile, timer callbacks by arming line (setInterval's recorded always, setTimeout's while on),
 * GCs by kind and the process's CPU, and with PP_PROF_ALLOC=B (bytes) an allocation profile that keeps
 * the samples of collected objects (then setTimeout's arming lines are not traced: their stack
 * strings were a fifth of what was allocated); written to PP_PROF_DIR/idle-n<N>-<pid>.
 */
const preload = `data:text/javascript,${encodeURIComponent(
  "import{Session}from'node:inspector';import{writeFileSync as w}from'node:fs';import{PerformanceObserver as P}from'node:perf_hooks';" +
    'const dir=process.env.PP_PROF_DIR,tag=process.env.PP_PROF_TAG,sec=Number(process.env.PP_PROF_S),alloc=Number(process.env.PP_PROF_ALLOC),s=new Session(),n=new Map(),gc=new Map();let on=false;' +
    "const site=()=>{const l=Error.stackTraceLimit;Error.stackTraceLimit=5;const k=(new Error().stack||'').split('\\n').slice(3,5).map(x=>x.trim()).join(' < ');Error.stackTraceLimit=l;return k};" +
    'const T=globalThis.setTimeout;' +
    "for(const m of['setTimeout','setInterval','setImmediate']){const o=globalThis[m];globalThis[m]=function(fn,...a){if(typeof fn!=='function')return o.call(this,fn,...a);const k=m==='setInterval'||(on&&!alloc)?m+' '+site():m+(on?' (--alloc: not traced)':' (armed before)');return o.call(this,function(...b){if(on)n.set(k,(n.get(k)||0)+1);return fn.apply(this,b)},...a)}}" +
    "new P(l=>{if(!on)return;for(const e of l.getEntries()){const k=String(e.detail?.kind??e.kind);const g=gc.get(k)||{n:0,ms:0};g.n++;g.ms+=e.duration;gc.set(k,g)}}).observe({entryTypes:['gc']});" +
    "process.on('SIGWINCH',()=>{if(on)return;s.connect();s.post('Profiler.enable',()=>s.post('Profiler.start',()=>{on=true;const c0=process.cpuUsage(),t0=Date.now();" +
    "if(alloc)s.post('HeapProfiler.enable',()=>s.post('HeapProfiler.startSampling',{samplingInterval:alloc,includeObjectsCollectedByMajorGC:true,includeObjectsCollectedByMinorGC:true}));" +
    "T(()=>{on=false;const c=process.cpuUsage(c0),el=(Date.now()-t0)/1000;s.post('Profiler.stop',(e,r)=>{const f=dir+'/idle-n'+tag+'-'+process.pid;if(!e)w(f+'.cpuprofile',JSON.stringify(r.profile));" +
    "if(alloc)s.post('HeapProfiler.stopSampling',(e,r)=>{if(!e)w(f+'.heapprofile',JSON.stringify(r.profile))});" +
    "w(f+'.json',JSON.stringify({seconds:el,cpuPct:(c.user+c.system)/el/1e4,gc:Object.fromEntries([...gc].map(([k,v])=>[k,{perS:v.n/el,msPerS:v.ms/el}])),timers:Object.fromEntries([...n].sort((a,b)=>b[1]-a[1]).map(([k,v])=>[k,Math.round(v/el*100)/100]))},null,1))})},sec*1000)}))});",
)}`;

const dir = await mkdtemp(join(tmpdir(), 'poolparty-idle-profile-'));
installCleanup(() => rmSync(dir, { recursive: true, force: true }));
const flowsDir = join(dir, 'flows');
process.env.PP_FLOWS_DIR = flowsDir;
process.env.PP_PROF_DIR = outDir;
process.env.PP_PROF_TAG = String(n);
process.env.PP_PROF_S = String(windowS);
process.env.PP_PROF_ALLOC = String(values.alloc);
const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const load1 = () => Number((loadavg()[0] ?? 0).toFixed(1));
const flowsOf = (pid: number): Record<string, { n: number; bytes: number }> => {
  try {
    return JSON.parse(readFileSync(join(flowsDir, `${pid}.json`), 'utf8')).counts;
  } catch {
    return {};
  }
};
/** The bench agent built from the repository at `root` (its own scripts/build-artifact.mjs). */
async function agentOf(root: string, name: string): Promise<string> {
  const mod = (await import(join(root, 'scripts', 'build-artifact.mjs'))) as {
    buildArtifact: (o: Record<string, unknown>) => Promise<{ file: string }>;
  };
  const entry = plain ? 'test/bench/stall-agent.ts' : 'test/bench/idle-agent.ts';
  const opts = { entry, outdir: join(dir, 'build'), name, minify: Boolean(values.minify) || plain };
  return resolve((await mod.buildArtifact(opts)).file);
}

type Agent = { id: string; ip: string; peerId: string; child: ChildProcess };
const mixed = Number(values.mixed);
const loopback = new LoopbackBlock();
const wire = WireCounter.open([{ label: 'pp', cidr: loopback.cidr, port: P2P_PORT, protocols: ['tcp'] }]);
if (typeof wire === 'string') throw new Error(`wire counter: ${wire}`);
await mkdir(flowsDir, { recursive: true });
await mkdir(outDir, { recursive: true });
const here = fileURLToPath(new URL('../..', import.meta.url));
let script = await agentOf(here, 'idle-agent-a');
if (values.b) {
  // Processes pick A or B by the number in their config file's name (agent-<i>.json, proc-<i>.json).
  const b = await agentOf(resolve(values.b), 'idle-agent-b');
  const select = join(dir, 'build', 'select.mjs');
  await writeFile(
    select,
    `const f = process.argv[process.argv.indexOf('--config') + 1] ?? '';\n` +
      `await import(Number(/(\\d+)\\.json$/.exec(f)?.[1]) % 2 ? ${JSON.stringify(b)} : ${JSON.stringify(script)});\n`,
  );
  script = select;
}
const flags = [...(plain ? [] : ['--import', preload]), ...(values.flags as string).split(' ').filter(Boolean)];
let pool: ProcPool | MixedPool;
if (mixed > 0) {
  const hostDir = join(here, 'bench-results', 'build'); // beside node_modules: the host leaves packages external
  await buildDist({ entries: { 'bench-host-idle-profile': join(here, 'test/bench/host.ts') }, outdir: hostDir });
  const hostScript = join(hostDir, 'bench-host-idle-profile.mjs');
  const opts = { n, k: mixed, perHost: 13, hostScript, script, loopback, nodeFlags: () => flags };
  pool = new MixedPool({ ...opts, dir: join(dir, 'pool') });
} else {
  const bFlags = (values['b-flags'] as string).split(' ').filter(Boolean);
  const flagsOf = (i: number) => (i % 2 ? bFlags : []);
  pool = new ProcPool({ dir: join(dir, 'pool'), script, loopback, nodeFlags: flags, flagsOf });
}
const ab = Boolean(values.b) || Boolean(values['b-flags']);
const variant = (a: Agent) => (ab ? (Number(a.id.slice(1)) % 2 ? 'B' : 'A') : 'A');
try {
  const t0 = pool instanceof ProcPool ? await pool.start(n, { startTimeoutMs: 300_000 }) : await pool.start();
  const agents = pool.agents as Agent[];
  const ids = agents.map((a) => a.id);
  const conv = await pool.until(() => pool.tracker.convergedAt(ids), Number(values.converge) * 1000);
  out({ msg: 'converged', ms: conv && conv - t0, seen: ids.map((id) => pool.tracker.aliveSeenBy(id)), load1: load1() });
  await sleep(Number(values.settle) * 1000);
  const leaders = new Set(ids.map((id) => pool.tracker.leaderOf(id)?.peerId));
  const followers = agents.filter((a) => !leaders.has(a.peerId));
  const profiled = k > 0 ? followers.slice(-k) : [];
  const pids = (as: Agent[]) => as.map((a) => a.child.pid ?? 0);
  const sample = () => new Map<number, ProcSample | null>(pids(agents).map((p) => [p, sampleProc(p)]));
  const w0 = wire.read().get('pp');
  const p0 = sample();
  const f0 = new Map(pids(agents).map((p) => [p, flowsOf(p)]));
  const loadStart = load1();
  const events0 = ids.map((id) => pool.tracker.aliveSeenBy(id));
  for (const a of profiled) a.child.kill('SIGWINCH');
  // VmRSS every 5 s over the window: its mean (the value at one moment swings by MBs with the last GC).
  const rssSum = new Map<number, { mb: number; k: number }>();
  for (const end = Date.now() + windowS * 1000 + 11_000; Date.now() < end; ) {
    for (const p of pids(agents)) {
      const mb = (sampleProc(p)?.rssBytes ?? 0) / 2 ** 20;
      const r = rssSum.get(p) ?? { mb: 0, k: 0 };
      if (mb > 0) rssSum.set(p, { mb: r.mb + mb, k: r.k + 1 });
    }
    await sleep(Math.min(5000, Math.max(0, end - Date.now())));
  }
  const rssOf = (pid: number) => {
    const r = rssSum.get(pid);
    return r && r.k > 0 ? Number((r.mb / r.k).toFixed(2)) : null;
  };
  const p1 = sample();
  const w1 = wire.read().get('pp');
  const cpuOf = (pid: number) => {
    const a = p0.get(pid);
    const b = p1.get(pid);
    return a && b ? Number(rates(a, b).cpuPct.toFixed(3)) : null;
  };
  const wakeupsOf = (pid: number) => {
    const a = p0.get(pid);
    const b = p1.get(pid);
    const r = a && b ? rates(a, b).wakeupsPerS : null;
    return r === null ? null : Number(r.toFixed(2));
  };
  const sec = windowS + 11;
  const sentOf = (pid: number) => {
    const before = f0.get(pid) ?? {};
    const sent = Object.entries(flowsOf(pid))
      .map(([key, c]) => [key, (c.n - (before[key]?.n ?? 0)) / sec] as const)
      .filter(([, r]) => r > 0)
      .sort((x, y) => y[1] - x[1]);
    return Object.fromEntries(sent.map(([key, r]) => [key, Number(r.toFixed(2))]));
  };
  const conns = connectionsPerAddress(
    agents.map((a) => a.ip),
    P2P_PORT,
  );
  const each = agents.map((a, i) => ({
    id: a.id,
    variant: variant(a),
    role: leaders.has(a.peerId) ? 'leader' : profiled.includes(a) ? 'profiled' : 'follower',
    cpuPct: cpuOf(a.child.pid ?? 0),
    wakeupsPerS: wakeupsOf(a.child.pid ?? 0),
    rssMeanMb: rssOf(a.child.pid ?? 0),
    connections: conns[i],
    sees: pool.tracker.aliveSeenBy(a.id),
  }));
  const plain = (v: string, k: 'cpuPct' | 'rssMeanMb' | 'wakeupsPerS' = 'cpuPct') =>
    summarize(
      each.filter((e) => e.role === 'follower' && e.variant === v && e[k] !== null).map((e) => e[k] as number),
      3,
    );
  // An agent that did nothing over the window is wedged, not idle: /proc says where it is held.
  const wedged = each
    .filter((e) => e.cpuPct !== null && e.cpuPct < 0.2)
    .map((e) => ({ id: e.id, ...wedgeReport(agents.find((a) => a.id === e.id)?.child.pid ?? 0) }));
  out({
    msg: 'window',
    n,
    processes: agents.length,
    load1: [loadStart, load1()],
    seenBefore: events0,
    wireBytesPerProcessPerS: w0 && w1 ? Math.round((w1.bytes - w0.bytes) / n / sec) : null,
    followersCpuPct: ab ? { A: plain('A'), B: plain('B') } : plain('A'),
    followersWakeupsPerS: ab
      ? { A: plain('A', 'wakeupsPerS'), B: plain('B', 'wakeupsPerS') }
      : plain('A', 'wakeupsPerS'),
    followersRssMeanMb: ab ? { A: plain('A', 'rssMeanMb'), B: plain('B', 'rssMeanMb') } : plain('A', 'rssMeanMb'),
    wedged,
    each,
    sentPerS: ab
      ? Object.fromEntries(['A', 'B'].map((v) => [v, sentOf(followers.find((a) => variant(a) === v)?.child.pid ?? 0)]))
      : undefined,
    profiled: profiled.map((a) => {
      const pid = a.child.pid ?? 0;
      let recorded: unknown = null;
      try {
        recorded = JSON.parse(readFileSync(join(outDir, `idle-n${n}-${pid}.json`), 'utf8'));
      } catch {}
      return { id: a.id, pid, cpuPct: cpuOf(pid), sentPerS: sentOf(pid), recorded };
    }),
  });
} finally {
  await pool.close();
  wire.close();
  await rm(dir, { recursive: true, force: true });
}
