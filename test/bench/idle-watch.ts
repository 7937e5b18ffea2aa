/**
 * What an idle pool of one-agent processes is made of, and whether it settles: N agents as the
 * idle-cost bench starts them (lib/procpool.ts), then every --every seconds for --minutes: wire
 * bytes and packets per agent from the kernel (iptables, lib/wire.ts), connections per agent and
 * their churn and duplicates (/proc/net/tcp), CPU per process, membership events, and what the
 * agents sent by kind (yamux frames by stream protocol, gossipsub RPCs; counted inside each agent
 * by lib/flow-counter.ts: diagnostic only). Usage: HELP below. Needs root (iptables).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildArtifact } from '../../scripts/build-artifact.mjs';
import { benchArgs } from './lib/args.ts';
import { kernelState, looksWedged, wedgeReport } from './lib/kernel-state.ts';
import { LoopbackBlock, P2P_PORT } from './lib/loopback.ts';
import { ProcPool } from './lib/procpool.ts';
import { installCleanup, type ProcSample, rates, sampleProc, sleep } from './lib/procs.ts';
import { POOL_EVENTS } from './lib/settle.ts';
import { summarize } from './lib/stats.ts';
import { WireCounter } from './lib/wire.ts';

const HELP = `npx tsx test/bench/idle-watch.ts [--n 50] [--minutes 5] [--every 30] [--top 14] [--wait 300] [--logs DIR]

Options:
  --n N         agents, one per process (default 50)
  --minutes M   how long to watch after convergence (default 5)
  --every S     seconds per printed interval (default 30)
  --top K       kinds of sent traffic listed per interval (default 14)
  --wait S      longest wait for every agent to see all N alive before watching (default 300)
  --logs DIR    keep each agent's stdout in DIR/p<i>.log, and write the /cluster view of every
                agent listed as short (below) to DIR/p<i>-cluster-<interval>.json
                (PP_BENCH_LOG_ALL=1 puts every agent log line there, not only failures)
  -h, --help    this help

Prints one JSON line per interval on stdout; needs root for the iptables counter. Each interval
lists as short every agent with fewer than 5 connections (N-1 below N=6), or that sees fewer than N members
alive, or that fewer than N-1 others see alive (its connections, views, CPU and accept queue).`;

const values = benchArgs('idle-watch', HELP, {
  n: { type: 'string', default: '50' },
  minutes: { type: 'string', default: '5' },
  every: { type: 'string', default: '30' },
  top: { type: 'string', default: '14' },
  wait: { type: 'string', default: '300' },
  logs: { type: 'string' },
});
const n = Number(values.n);
const everyMs = Number(values.every) * 1000;
const intervals = Math.ceil((Number(values.minutes) * 60_000) / everyMs);
const top = Number(values.top);

installCleanup();
const dir = await mkdtemp(join(tmpdir(), 'poolparty-idle-watch-'));
const flowsDir = join(dir, 'flows');
process.env.PP_FLOWS_DIR = flowsDir;
const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const load1 = () => Number((loadavg()[0] ?? 0).toFixed(1));

const ipOf = (hex: string) => {
  const v = Number.parseInt(hex, 16);
  return [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255].join('.');
};
/** Established sockets with a local address in `ips` and the p2p port at one end, as "lip:lport>rip:rport". */
function sockets(ips: ReadonlySet<string>): string[] {
  const keys: string[] = [];
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== '01') continue;
    const [la, lp] = (f[1] as string).split(':') as [string, string];
    const [ra, rp] = (f[2] as string).split(':') as [string, string];
    const lport = Number.parseInt(lp, 16);
    const rport = Number.parseInt(rp, 16);
    if (!ips.has(ipOf(la)) || (lport !== P2P_PORT && rport !== P2P_PORT)) continue;
    keys.push(`${ipOf(la)}:${lport}>${ipOf(ra)}:${rport}`);
  }
  return keys;
}

/**
 * Connections waiting in each agent's accept queue (its p2p listener's rx_queue in /proc/net/tcp):
 * a dial the agent has not accepted yet, abandoned ones included (the dialer closed: CLOSE-WAIT).
 */
function acceptQueues(ips: ReadonlySet<string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || f[3] !== '0A') continue;
    const [la, lp] = (f[1] as string).split(':') as [string, string];
    if (!ips.has(ipOf(la)) || Number.parseInt(lp, 16) !== P2P_PORT) continue;
    m.set(ipOf(la), Number.parseInt((f[4] as string).split(':')[1] ?? '0', 16));
  }
  return m;
}

type Counts = Record<string, { n: number; bytes: number }>;
function flows(): Map<string, Counts> {
  const m = new Map<string, Counts>();
  for (const f of readdirSync(flowsDir, { withFileTypes: true })) {
    try {
      m.set(f.name, (JSON.parse(readFileSync(join(flowsDir, f.name), 'utf8')) as { counts: Counts }).counts);
    } catch {
      // being written
    }
  }
  return m;
}
function flowDelta(a: Map<string, Counts>, b: Map<string, Counts>, seconds: number) {
  const sum = new Map<string, { n: number; bytes: number }>();
  for (const [pid, counts] of b) {
    const before = a.get(pid) ?? {};
    for (const [k, c] of Object.entries(counts)) {
      const s = sum.get(k) ?? { n: 0, bytes: 0 };
      s.n += c.n - (before[k]?.n ?? 0);
      s.bytes += c.bytes - (before[k]?.bytes ?? 0);
      sum.set(k, s);
    }
  }
  const per = b.size * seconds;
  return Object.fromEntries(
    [...sum]
      .filter(([, c]) => c.n > 0)
      .sort((x, y) => y[1].bytes - x[1].bytes || y[1].n - x[1].n)
      .slice(0, top)
      .map(([k, c]) => [k, { perS: Number((c.n / per).toFixed(3)), bytesPerS: Math.round(c.bytes / per) }]),
  );
}

/** Fewer connections than this makes an agent short (its ring neighbours alone are more, or all others in a small pool). */
const FEW_CONNECTIONS = Math.min(5, n - 1);

/**
 * Agents cut off from the pool: few connections, a short view, or held alive by few others;
 * with --logs, each one's /cluster view is kept.
 */
async function shortAgents(
  perAddr: ReadonlyMap<string, number>,
  cpuOf: ReadonlyMap<string, number>,
  queues: ReadonlyMap<string, number>,
  interval: number,
) {
  const ids = pool.agents.map((a) => a.id);
  const found = pool.agents
    .map((a) => ({
      a,
      conns: perAddr.get(a.ip) ?? 0,
      sees: pool.tracker.aliveSeenBy(a.id),
      seenBy: pool.tracker.seenAliveBy(ids, a.peerId),
      cpuPct: cpuOf.get(a.id) ?? null,
      queued: queues.get(a.ip),
      ...kernelState(a.child.pid ?? 0),
    }))
    .filter((s) => s.conns < FEW_CONNECTIONS || s.sees < n || s.seenBy < n - 1);
  // A wedged agent's /proc first, before the /cluster request below touches it.
  const wedged = found.filter(looksWedged).map(({ a }) => ({ a, report: wedgeReport(a.child.pid ?? 0) }));
  const dir = logDir;
  for (const { a, report } of wedged) {
    const lastLines = dir === undefined ? [] : await lastLinesOf(join(dir, `${a.id}.log`), 30);
    const file = dir === undefined ? undefined : join(dir, `${a.id}-wedge-${interval}.json`);
    if (file) await writeFile(file, JSON.stringify({ id: a.id, ...report, lastLines }, null, 1));
    else out({ msg: 'wedge', id: a.id, ...report });
  }
  if (dir !== undefined)
    await Promise.all(
      found.map(async ({ a }) => {
        const view = await fetch(`${a.monitor}/cluster`, { signal: AbortSignal.timeout(5000) })
          .then((r) => r.text())
          .catch((err: Error) => JSON.stringify({ error: err.message }));
        await writeFile(join(dir, `${a.id}-cluster-${interval}.json`), view);
      }),
    );
  const calls = new Map(wedged.map(({ a, report }) => [a.id, report.call]));
  return found.map(({ a, ...s }) => ({ id: a.id, ...s, ...(calls.has(a.id) ? { wedged: calls.get(a.id) } : {}) }));
}

/** The last `k` lines of a log file ([] if unreadable). */
async function lastLinesOf(file: string, k: number): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-k);
}

const loopback = new LoopbackBlock();
const wire = WireCounter.open([{ label: 'pp', cidr: loopback.cidr, port: P2P_PORT, protocols: ['tcp'] }]);
if (typeof wire === 'string') throw new Error(`wire counter: ${wire}`);
await mkdir(flowsDir, { recursive: true });
const agentFile = (
  await buildArtifact({ entry: 'test/bench/idle-agent.ts', outdir: join(dir, 'build'), name: 'idle-agent' })
).file;
const logDir = values.logs === undefined ? undefined : resolve(values.logs);
const pool = new ProcPool({ dir: join(dir, 'pool'), script: resolve(agentFile), loopback, logDir });
try {
  const t0 = await pool.start(n, { startTimeoutMs: 300_000, onProgress: (p) => out({ msg: 'starting', ...p }) });
  const ids = pool.agents.map((a) => a.id);
  const conv = await pool.until(() => pool.tracker.convergedAt(ids), Number(values.wait) * 1000);
  out({
    msg: 'converged',
    ms: conv && conv - t0,
    lastStartMs: Math.max(...pool.agents.map((a) => a.startedAt - t0)),
    load1: load1(),
  });
  const ips = new Set(pool.agents.map((a) => a.ip));
  const peers = new Set(pool.agents.map((a) => a.peerId));
  const types = POOL_EVENTS;
  let w0 = wire.read().get('pp');
  let s0 = new Set(sockets(ips));
  let f0 = flows();
  let p0 = new Map<number, ProcSample | null>(pool.agents.map((a) => [a.child.pid ?? 0, sampleProc(a.child.pid ?? 0)]));
  let at0 = Date.now();
  for (let i = 0; i < intervals; i++) {
    await sleep(everyMs);
    const at = Date.now();
    const sec = (at - at0) / 1000;
    const w = wire.read().get('pp');
    const s = sockets(ips);
    const sSet = new Set(s);
    const f = flows();
    const cpuOf = new Map<string, number>();
    const p1 = new Map<number, ProcSample | null>();
    for (const a of pool.agents) {
      const pid = a.child.pid ?? 0;
      const now = sampleProc(pid);
      p1.set(pid, now);
      const before = p0.get(pid);
      if (now && before) cpuOf.set(a.id, rates(before, now).cpuPct);
    }
    const cpu = [...cpuOf.values()];
    const queues = acceptQueues(ips);
    const perAddr = new Map<string, number>();
    const pairs = new Map<string, number>();
    for (const k of s) {
      const [l, r] = k.split('>') as [string, string];
      const lip = l.split(':')[0] as string;
      const rip = r.split(':')[0] as string;
      perAddr.set(lip, (perAddr.get(lip) ?? 0) + 1);
      const pair = [lip, rip].sort().join('-');
      pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
    }
    const events: Record<string, number> = {};
    for (const e of pool.tracker.eventsAbout(peers, types, at0))
      if (e.at < at) events[e.type] = (events[e.type] ?? 0) + 1;
    out({
      msg: 'interval',
      // From convergence, or from the start when the pool never converged (see the converged line).
      sinceS: Math.round((at - (conv ?? t0)) / 1000),
      load1: load1(),
      wireBytesPerAgentPerS: w && w0 ? Math.round((w.bytes - w0.bytes) / n / sec) : null,
      wirePacketsPerAgentPerS: w && w0 ? Number(((w.packets - w0.packets) / n / sec).toFixed(1)) : null,
      cpuPct: summarize(cpu, 2),
      // Each TCP connection between two agents is two sockets, one per end: per agent = its ends.
      connections: summarize([...ips].map((ip) => perAddr.get(ip) ?? 0)),
      // Socket pairs (both ends) whose agents hold more than one TCP connection to each other.
      duplicatePairs: [...pairs.values()].filter((c) => c > 2).length,
      socketsOpened: s.filter((k) => !s0.has(k)).length,
      socketsClosed: [...s0].filter((k) => !sSet.has(k)).length,
      events,
      // Dials waiting to be accepted per agent (a full queue, 511, turns every new dial away).
      acceptQueue: summarize([...ips].map((ip) => queues.get(ip) ?? 0)),
      short: await shortAgents(perAddr, cpuOf, queues, i),
      sent: flowDelta(f0, f, sec),
    });
    w0 = w;
    s0 = sSet;
    f0 = f;
    p0 = p1;
    at0 = at;
  }
} finally {
  await pool.close();
  wire.close();
  await rm(dir, { recursive: true, force: true });
}
