/**
 * Agent footprint: what one idle agent process costs, and what `--help` costs.
 *
 *   npx tsx test/bench/footprint.ts [--agent FILE] [--idle SECONDS] [--flag NODEFLAG]...
 *
 * --agent  the agent to measure (default dist/artifact/poolparty-agent.mjs, the single file that
 *          ships to cloud instances; bin/poolparty-agent.mjs is the npm launcher local pools run).
 *          Build first: `npm run build`.
 * --idle   seconds the follower runs before it is measured (default 30).
 * --flag   an extra Node.js flag for the measured processes (repeatable), on top of
 *          AGENT_NODE_FLAGS (shared/agent-node-flags.ts), which every launcher uses.
 *
 * The measured agent is a follower: a seed agent (alone, so it leads) starts first, then the
 * measured one bootstraps from it on loopback with default tunables and no metrics, bundle or
 * scaling block. Nothing else runs in the pool. Prints one JSON object:
 *
 *   { date, node, agent, flags, idleSeconds,
 *     help:     { rssKb, heapUsedKb, modules },
 *     follower: { role, rssKb, heapUsedKb, cpuPercent, modules } }
 *
 * rssKb is VmRSS from /proc/<pid>/status (at exit for --help, after --idle for the follower);
 * cpuPercent is the follower's user + system CPU over the second half of --idle, in % of one core;
 * heapUsedKb is process.memoryUsage().heapUsed read by a one-line preload (--import of a data:
 * URL, on exit or on SIGUSR2). modules counts what Node loaded, from NODE_DEBUG=esm,module in a
 * separate run of the same command (the debug output itself costs memory, so it never runs in the
 * measured process): { files, builtins, packages: names of node_modules packages loaded }. The
 * artifact bundles its dependencies, so its `packages` is empty by construction and `files` counts
 * the artifact itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AGENT_NODE_FLAGS } from '../../shared/agent-node-flags.ts';
import { generatePoolKey } from '../../shared/pool-key.ts';
import { loadedModules, logLine, stopProcess as stop, writeLoopbackConfig } from '../helpers/agent-process.ts';

interface Modules {
  files: number;
  builtins: number;
  packages: string[];
}

interface Sample {
  rssKb: number;
  heapUsedKb: number | null;
  modules: Modules;
}

const { values } = parseArgs({
  options: {
    agent: { type: 'string', default: 'dist/artifact/poolparty-agent.mjs' },
    idle: { type: 'string', default: '30' },
    flag: { type: 'string', multiple: true, default: [] },
  },
});
const agent = resolve(values.agent);
const idleSeconds = Number(values.idle);
const flags = [...AGENT_NODE_FLAGS, ...values.flag];
if (!existsSync(agent)) throw new Error(`${agent} is missing: run \`npm run build\``);
if (!(idleSeconds >= 0)) throw new Error('--idle: expected a number of seconds');

const dir = await mkdtemp(join(tmpdir(), 'poolparty-footprint-'));
const heapFile = join(dir, 'heap.json');
// Writes process.memoryUsage().heapUsed to $PP_FOOTPRINT_HEAP on exit and on SIGUSR2.
const preload = `data:text/javascript,${encodeURIComponent(
  "import{writeFileSync as w}from'node:fs';const f=process.env.PP_FOOTPRINT_HEAP;" +
    'const d=()=>w(f,String(process.memoryUsage().heapUsed));' +
    "process.on('exit',d);process.on('SIGUSR2',d);",
)}`;
const children = new Set<ChildProcess>();

function run(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN);
}

/** CPU seconds (user + system) the process has used so far, from /proc/<pid>/stat. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime: clock ticks (USER_HZ 100)
}

async function heapUsedKb(): Promise<number | null> {
  for (let i = 0; i < 50; i++) {
    const text = await readFile(heapFile, 'utf8').catch(() => '');
    if (text) return Math.round(Number(text) / 1024);
    await sleep(100);
  }
  return null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function collect(stream: NodeJS.ReadableStream | null): Promise<string> {
  return new Promise((res) => {
    let text = '';
    stream?.setEncoding?.('utf8');
    stream?.on('data', (c: string) => {
      text += c;
    });
    stream?.on('end', () => res(text));
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

async function measureHelp(): Promise<Sample> {
  // RSS at exit: the preload's exit hook runs last, so read VmRSS there too.
  const rssPreload = `data:text/javascript,${encodeURIComponent(
    "import{readFileSync as r,writeFileSync as w}from'node:fs';" +
      "process.on('exit',()=>w(process.env.PP_FOOTPRINT_RSS,/VmRSS:\\s+(\\d+)/.exec(r('/proc/self/status','utf8'))[1]));",
  )}`;
  const rssFile = join(dir, 'help-rss');
  const child = run([...flags, '--import', preload, '--import', rssPreload, agent, '--help'], {
    PP_FOOTPRINT_HEAP: heapFile,
    PP_FOOTPRINT_RSS: rssFile,
  });
  await new Promise((r) => child.once('exit', r));
  const rss = Number(await readFile(rssFile, 'utf8'));
  const heap = await heapUsedKb();
  await rm(heapFile, { force: true });
  const debug = run([...flags, agent, '--help'], { NODE_DEBUG: 'esm,module' });
  const text = collect(debug.stderr);
  await new Promise((r) => debug.once('exit', r));
  return { rssKb: rss, heapUsedKb: heap, modules: parseModules(await text) };
}

function config(name: string, keyFile: string, bootstrap: string[]): Promise<string> {
  return writeLoopbackConfig(dir, name, { keyFile, bootstrap });
}

async function measureFollower(): Promise<Sample & { role: string; cpuPercent: number }> {
  const keyFile = join(dir, 'pool.key');
  await writeFile(keyFile, generatePoolKey(), { mode: 0o600 });
  const seed = run([...AGENT_NODE_FLAGS, agent, '--config', await config('seed', keyFile, [])]);
  const seedStarted = await logLine(seed, 'agent-started');
  const bootstrap = [(seedStarted.listen as string[])[0] as string];

  const follower = run([...flags, '--import', preload, agent, '--config', await config('f', keyFile, bootstrap)], {
    PP_FOOTPRINT_HEAP: heapFile,
  });
  const started = await logLine(follower, 'agent-started');
  // CPU over the idle window's second half: startup (parse, compile, join) excluded.
  await sleep((idleSeconds * 1000) / 2);
  const cpu0 = await cpuSeconds(follower.pid as number);
  const t0 = Date.now();
  await sleep((idleSeconds * 1000) / 2);
  const cpuPercent = ((await cpuSeconds(follower.pid as number)) - cpu0) / ((Date.now() - t0) / 100_000);
  const rss = await rssKb(follower.pid as number);
  follower.kill('SIGUSR2');
  const heap = await heapUsedKb();
  const cluster = (await (await fetch(`${started.monitor}/cluster`)).json()) as { leader: { peerId: string } | null };
  const role = cluster.leader?.peerId === started.peerId ? 'leader' : 'follower';
  await stop(follower);

  // The same follower again under NODE_DEBUG, only to list its modules once it has settled.
  const debug = run([...flags, agent, '--config', await config('g', keyFile, bootstrap)], {
    NODE_DEBUG: 'esm,module',
  });
  const text = collect(debug.stderr);
  await logLine(debug, 'agent-started');
  await sleep(Math.min(idleSeconds, 5) * 1000);
  await stop(debug);
  const modules = parseModules(await text);
  await stop(seed);
  return { role, rssKb: rss, heapUsedKb: heap, cpuPercent: Math.round(cpuPercent * 100) / 100, modules };
}

try {
  const help = await measureHelp();
  const follower = await measureFollower();
  console.log(
    JSON.stringify({
      date: new Date().toISOString(),
      node: process.version,
      agent: values.agent,
      flags,
      idleSeconds,
      help,
      follower,
    }),
  );
} finally {
  await Promise.all([...children].map(stop));
  await rm(dir, { recursive: true, force: true });
}
