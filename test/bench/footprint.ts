/**
 * Agent footprint: what idle followers cost, measured from outside, and what `--help` costs.
 *
 *   npx tsx test/bench/footprint.ts [--agent FILE] [--followers N] [--idle SECONDS] [--bare] [--flag NODEFLAG]...
 *
 * --agent      the agent to measure (default: the single-file artifact, built from the current
 *              source into a temporary directory by scripts/build-artifact.mjs — what ships to
 *              cloud instances; bin/poolparty-agent.mjs is the npm launcher).
 * --followers  how many followers to measure, each its own process (default 3).
 * --idle       seconds the followers run before they are measured (default 60).
 * --bare       start the measured followers without AGENT_NODE_FLAGS and AGENT_NODE_ENV
 *              (shared/agent-node-flags.ts): the "before" of a flag change, in the same run.
 * --flag       an extra Node.js flag for the measured followers (repeatable).
 * --converge   seconds to wait until every follower sees all followers + 1 alive (default 0: no wait)
 *              before the idle window starts; `converged`: the ms it took, or what each saw.
 * --profile K  the first K followers also write a V8 CPU profile and the timer callbacks per second
 *              by arming site, over the measured window, to --profile-dir (default
 *              bench-results/profiles); their CPU is listed apart (`profiled`), not in the medians.
 *
 * A seed agent (alone, so it leads) starts first, as every launcher starts agents; then the
 * followers bootstrap from it on loopback with default tunables and no metrics, bundle or scaling
 * block. Prints one JSON object:
 *
 *   { date, node, load1, agent, flags, env, idleSeconds, help: { rssKb, heapUsedKb, modules },
 *     followers: { n, rssMb, rssAnonMb, rssFileMb, cpuPercent (each { median, min, max }), each },
 *     modules }
 *
 * rssMb is VmRSS from /proc/<pid>/status after --idle (RssAnon: private memory; RssFile: pages of
 * files, mostly the node binary, shared by every agent of a host); cpuPercent is user + system CPU
 * over the second half of --idle, in % of one core; `each` adds process.memoryUsage() of each
 * follower (MB), read by a one-line preload on SIGUSR2. modules counts what Node loaded, from
 * NODE_DEBUG=esm,module in a separate follower (the debug output costs memory, so never in a
 * measured one): { files, builtins, packages }. The artifact bundles its dependencies, so its
 * `packages` is empty by construction and `files` counts the artifact itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildArtifact } from '../../scripts/build-artifact.mjs';
import { AGENT_NODE_ENV, AGENT_NODE_FLAGS, agentNodeEnv } from '../../shared/agent-node-flags.ts';
import { generatePoolKey } from '../../shared/pool-key.ts';
import { loadedModules, logLine, stopProcess as stop, writeLoopbackConfig } from '../helpers/agent-process.ts';
import { percentile } from './lib/stats.ts';

interface Modules {
  files: number;
  builtins: number;
  packages: string[];
}

interface FollowerSample {
  profiled: boolean;
  role: string;
  rssMb: number;
  rssAnonMb: number;
  rssFileMb: number;
  cpuPercent: number;
  memoryUsageMb: Record<string, number> | null;
}

const { values } = parseArgs({
  options: {
    agent: { type: 'string' },
    followers: { type: 'string', default: '3' },
    idle: { type: 'string', default: '60' },
    bare: { type: 'boolean', default: false },
    flag: { type: 'string', multiple: true, default: [] },
    converge: { type: 'string', default: '0' },
    profile: { type: 'string', default: '0' },
    'profile-dir': { type: 'string', default: 'bench-results/profiles' },
  },
});
const idleSeconds = Number(values.idle);
const followers = Number(values.followers);
if (!(idleSeconds >= 0)) throw new Error('--idle: expected a number of seconds');
if (!(Number.isInteger(followers) && followers >= 1)) throw new Error('--followers: expected a positive integer');
const convergeMs = Number(values.converge) * 1000;
const profiled = Number(values.profile);
const profileDir = resolve(values['profile-dir']);
const flags = [...(values.bare ? [] : AGENT_NODE_FLAGS), ...values.flag];
const env: NodeJS.ProcessEnv = values.bare ? { ...process.env } : agentNodeEnv(process.env);

const dir = await mkdtemp(join(tmpdir(), 'poolparty-footprint-'));
const agent = values.agent ? resolve(values.agent) : (await buildArtifact({ outdir: join(dir, 'build') })).file;
if (!existsSync(agent)) throw new Error(`${agent} is missing: run \`npm run build\``);

// Writes process.memoryUsage() as JSON to $PP_FOOTPRINT_MEM on exit and on SIGUSR2.
const preload = `data:text/javascript,${encodeURIComponent(
  "import{writeFileSync as w}from'node:fs';const f=process.env.PP_FOOTPRINT_MEM;" +
    'const d=()=>w(f,JSON.stringify(process.memoryUsage()));' +
    "process.on('exit',d);process.on('SIGUSR2',d);",
)}`;
// --profile: SIGWINCH starts a CPU profile and counts timer callbacks by the caller that armed them;
// SIGUSR2 (the memory read) stops and writes both.
const profilePreload = `data:text/javascript,${encodeURIComponent(
  "import{Session as S}from'node:inspector';import{writeFileSync as w}from'node:fs';" +
    'const f=process.env.PP_FOOTPRINT_PROF,s=new S(),n=new Map();let on=false,t0=0;' +
    "const site=()=>{const l=Error.stackTraceLimit;Error.stackTraceLimit=4;const k=(new Error().stack||'').split('\\n')[3]||'?';Error.stackTraceLimit=l;return k.trim()};" +
    "for(const m of['setTimeout','setInterval','setImmediate']){const o=globalThis[m];globalThis[m]=function(fn,...a){if(typeof fn!=='function')return o.call(this,fn,...a);const k=m+' '+site();return o.call(this,function(...b){if(on)n.set(k,(n.get(k)||0)+1);return fn.apply(this,b)},...a)}}" +
    "process.on('SIGWINCH',()=>{s.connect();s.post('Profiler.enable',()=>s.post('Profiler.start',()=>{on=true;t0=Date.now()}))});" +
    "process.on('SIGUSR2',()=>{if(!on)return;on=false;const sec=(Date.now()-t0)/1000;s.post('Profiler.stop',(e,r)=>{if(!e)w(f+'.cpuprofile',JSON.stringify(r.profile));" +
    "w(f+'.timers.json',JSON.stringify(Object.fromEntries([...n].sort((a,b)=>b[1]-a[1]).map(([k,v])=>[k,Math.round(v/sec*100)/100])),null,1))})});",
)}`;
const children = new Set<ChildProcess>();

function run(args: string[], childEnv: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** VmRSS, RssAnon and RssFile of `pid`, in kB. */
async function rss(pid: number): Promise<{ vmRss: number; anon: number; file: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { vmRss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** CPU seconds (user + system) the process has used so far, from /proc/<pid>/stat. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime: clock ticks (USER_HZ 100)
}

/** What the preload wrote to `file`, once it is there (null after 5 s). */
async function memoryUsage(file: string): Promise<NodeJS.MemoryUsage | null> {
  for (let i = 0; i < 50; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text) return JSON.parse(text) as NodeJS.MemoryUsage;
    await sleep(100);
  }
  return null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const mb = (kb: number) => Math.round(kb / 102.4) / 10;
const summary = (xs: number[]) => ({ median: percentile(xs, 50), min: Math.min(...xs), max: Math.max(...xs) });

function collect(stream: NodeJS.ReadableStream | null): Promise<string> {
  return new Promise((res) => {
    const text: string[] = [];
    stream?.setEncoding?.('utf8');
    stream?.on('data', (c: string) => text.push(c));
    stream?.on('end', () => res(text.join('')));
  });
}

/** What Node loaded, from NODE_DEBUG=esm,module output: counts, and the node_modules packages. */
function parseModules(debug: string): Modules {
  const { files, builtins } = loadedModules(debug);
  const packages = new Set<string>();
  for (const f of files) {
    const p = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f);
    if (p) packages.add(p[1] as string);
  }
  return { files: files.length, builtins: builtins.length, packages: [...packages].sort() };
}

async function measureHelp() {
  // RSS at exit: the preload's exit hook runs last, so read VmRSS there too.
  const rssPreload = `data:text/javascript,${encodeURIComponent(
    "import{readFileSync as r,writeFileSync as w}from'node:fs';" +
      "process.on('exit',()=>w(process.env.PP_FOOTPRINT_RSS,/VmRSS:\\s+(\\d+)/.exec(r('/proc/self/status','utf8'))[1]));",
  )}`;
  const memFile = join(dir, 'help-mem');
  const rssFile = join(dir, 'help-rss');
  const child = run([...flags, '--import', preload, '--import', rssPreload, agent, '--help'], {
    ...env,
    PP_FOOTPRINT_MEM: memFile,
    PP_FOOTPRINT_RSS: rssFile,
  });
  await new Promise((r) => child.once('exit', r));
  const rssKb = Number(await readFile(rssFile, 'utf8'));
  const heap = await memoryUsage(memFile);
  const debug = run([...flags, agent, '--help'], { ...env, NODE_DEBUG: 'esm,module' });
  const text = collect(debug.stderr);
  await new Promise((r) => debug.once('exit', r));
  return { rssKb, heapUsedKb: heap && Math.round(heap.heapUsed / 1024), modules: parseModules(await text) };
}

const aliveIn = (url: string): Promise<number> =>
  fetch(`${url}/cluster`)
    .then((r) => r.json() as Promise<{ members: { state: string }[] }>)
    .then((v) => v.members.filter((m) => m.state === 'alive').length)
    .catch(() => 0);

/** Until every monitor lists followers + 1 alive members (bounded by --converge): ms taken, or what each saw. */
async function convergence(monitors: string[]): Promise<{ ms: number } | { seeing: number[] } | null> {
  const t0 = Date.now();
  let seeing: number[] = [];
  while (convergeMs > 0 && Date.now() - t0 < convergeMs) {
    seeing = await Promise.all(monitors.map(aliveIn));
    if (seeing.every((s) => s === followers + 1)) return { ms: Date.now() - t0 };
    await sleep(2000);
  }
  return convergeMs > 0 ? { seeing: seeing.sort((x, y) => x - y) } : null;
}

/** How long an agent may take to log 'agent-started': ten starting at once on a loaded 2-core host took over 60 s. */
const START_MS = 180_000;

async function measureFollowers() {
  const keyFile = join(dir, 'pool.key');
  await writeFile(keyFile, generatePoolKey(), { mode: 0o600 });
  const config = (name: string, bootstrap: string[]) => writeLoopbackConfig(dir, name, { keyFile, bootstrap });
  const seed = run([...AGENT_NODE_FLAGS, agent, '--config', await config('seed', [])], agentNodeEnv(process.env));
  const bootstrap = [((await logLine(seed, 'agent-started', START_MS)).listen as string[])[0] as string];

  const measured = await Promise.all(
    Array.from({ length: followers }, async (_, i) => {
      const memFile = join(dir, `f${i}.mem`);
      const prof = i < profiled ? ['--import', profilePreload] : [];
      const child = run([...flags, '--import', preload, ...prof, agent, '--config', await config(`f${i}`, bootstrap)], {
        ...env,
        PP_FOOTPRINT_MEM: memFile,
        PP_FOOTPRINT_PROF: join(profileDir, `footprint-f${i}`),
      });
      const started = await logLine(child, 'agent-started', START_MS);
      return { child, memFile, started };
    }),
  );
  const converged = await convergence(measured.map((m) => m.started.monitor as string));
  // CPU over the idle window's second half: startup (parse, compile, join) excluded.
  await sleep((idleSeconds * 1000) / 2);
  if (profiled > 0) await mkdir(profileDir, { recursive: true });
  for (const m of measured.slice(0, profiled)) m.child.kill('SIGWINCH');
  const cpu0 = await Promise.all(measured.map((m) => cpuSeconds(m.child.pid as number)));
  const t0 = Date.now();
  await sleep((idleSeconds * 1000) / 2);
  const each: FollowerSample[] = [];
  for (const [i, m] of measured.entries()) {
    const pid = m.child.pid as number;
    const cpuPercent = ((await cpuSeconds(pid)) - (cpu0[i] as number)) / ((Date.now() - t0) / 100_000);
    const r = await rss(pid);
    m.child.kill('SIGUSR2');
    const mem = await memoryUsage(m.memFile);
    const cluster = (await (await fetch(`${m.started.monitor}/cluster`)).json()) as {
      leader: { peerId: string } | null;
    };
    each.push({
      profiled: i < profiled,
      role: cluster.leader?.peerId === m.started.peerId ? 'leader' : 'follower',
      rssMb: mb(r.vmRss),
      rssAnonMb: mb(r.anon),
      rssFileMb: mb(r.file),
      cpuPercent: Math.round(cpuPercent * 100) / 100,
      memoryUsageMb: mem && Object.fromEntries(Object.entries(mem).map(([k, v]) => [k, mb(v / 1024)])),
    });
  }
  await Promise.all(measured.map((m) => stop(m.child)));

  // One more follower under NODE_DEBUG, only to list its modules once it has settled.
  const debug = run([...flags, agent, '--config', await config('debug', bootstrap)], {
    ...env,
    NODE_DEBUG: 'esm,module',
  });
  const text = collect(debug.stderr);
  await logLine(debug, 'agent-started');
  await sleep(Math.min(idleSeconds, 5) * 1000);
  await stop(debug);
  await stop(seed);
  const plain = each.filter((e) => !e.profiled);
  const pick = (k: 'rssMb' | 'rssAnonMb' | 'rssFileMb' | 'cpuPercent') => summary(plain.map((e) => e[k]));
  return {
    followers: {
      n: followers,
      converged,
      profiled: each.filter((e) => e.profiled).map((e) => e.cpuPercent),
      rssMb: pick('rssMb'),
      rssAnonMb: pick('rssAnonMb'),
      rssFileMb: pick('rssFileMb'),
      cpuPercent: pick('cpuPercent'),
      each,
    },
    modules: parseModules(await text),
  };
}

try {
  const load1 = Number((loadavg()[0] ?? 0).toFixed(1));
  const help = await measureHelp();
  const { followers: measured, modules } = await measureFollowers();
  console.log(
    JSON.stringify({
      date: new Date().toISOString(),
      node: process.version,
      load1: [load1, Number((loadavg()[0] ?? 0).toFixed(1))],
      agent: values.agent ?? 'artifact built from the current source',
      flags,
      env: values.bare ? {} : AGENT_NODE_ENV,
      idleSeconds,
      help,
      followers: measured,
      modules,
    }),
  );
} finally {
  await Promise.all([...children].map(stop));
  await rm(dir, { recursive: true, force: true });
}
