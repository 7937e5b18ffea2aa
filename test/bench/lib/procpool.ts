import type { ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AGENT_NODE_FLAGS, agentNodeEnv } from '../../../shared/agent-node-flags.ts';
import { defaultTunables } from '../../../shared/config/tunables.ts';
import { generatePoolKey } from '../../../shared/pool-key.ts';
import { sampleBootstrapPeers } from '../../../shared/remoter/bootstrap-sample.ts';
import type { AgentConfig } from '../../../shared/wire/agent-config.ts';
import { type LoopbackBlock, P2P_PORT } from './loopback.ts';
import { kill9, type ProcSample, rates, sampleProc, start } from './procs.ts';
import type { RawEvent } from './protocol.ts';
import { Tracker } from './tracker.ts';
import { untilValue } from './until.ts';

interface ProcAgent {
  id: string;
  ip: string;
  child: ChildProcess;
  peerId: string;
  monitor: string;
  multiaddr: string;
  /** Epoch ms the agent reported it had started (agent.start() resolved). */
  startedAt: number;
  stalls: Array<{ from: number; to: number }>;
  /** Membership failures the agent logged (stall-agent.ts), oldest first, at most MAX_LOGS. */
  logs: Array<Record<string, unknown>>;
}

const MAX_LOGS = 200;
/** Lines of an agent's stdout kept to print if it exits unasked. */
const TAIL_LINES = 20;

/**
 * One agent per process (test/bench/stall-agent.ts, built as the artifact is: lib/build.ts), started
 * with the flags and environment every launcher uses: the real daemon's Agent with its
 * monitor on <own address>:8642, plus a SIGUSR2 stall trigger. Raw events arrive as JSON lines on
 * each child's stdout and feed one Tracker; observers are named p0, p1, …
 */
export class ProcPool {
  readonly tracker = new Tracker();
  readonly agents: ProcAgent[] = [];
  readonly #killed = new Set<string>();
  #closing = false;
  readonly #dir: string;
  readonly #script: string;
  readonly #loopback: LoopbackBlock;
  readonly #flags: string[];
  readonly #logDir: string | undefined;
  readonly #flagsOf: (i: number) => string[];
  #keyFile = '';

  /**
   * `logDir`: each agent's whole stdout is also written to `<logDir>/p<i>.log` (kept after close).
   * `flagsOf`: extra node flags for agent i (after nodeFlags): an A/B of flags in one pool.
   */
  constructor(opts: {
    dir: string;
    script: string;
    loopback: LoopbackBlock;
    nodeFlags?: string[];
    logDir?: string;
    flagsOf?: (i: number) => string[];
  }) {
    this.#flagsOf = opts.flagsOf ?? (() => []);
    this.#dir = opts.dir;
    this.#logDir = opts.logDir;
    this.#script = opts.script;
    this.#loopback = opts.loopback;
    // What ships: every agent process runs with these and AGENT_NODE_ENV (shared/agent-node-flags.ts).
    this.#flags = [...AGENT_NODE_FLAGS, ...(opts.nodeFlags ?? [])];
  }

  get alive(): ProcAgent[] {
    return this.agents.filter((a) => !this.#killed.has(a.id));
  }

  async #spawn(i: number, ip: string, bootstrap: string[], startTimeoutMs = 240_000): Promise<ProcAgent> {
    const config: AgentConfig = {
      pool: 'bench',
      cloud: 'web',
      instanceId: `proc-${i}`,
      dataDir: join(this.#dir, `agent-${i}`),
      poolKeyFile: this.#keyFile,
      listen: [`/ip4/${ip}/tcp/${P2P_PORT}`],
      bootstrap,
      monitor: { host: ip, port: 8642, url: `http://${ip}:8642` },
      tunables: defaultTunables(),
      metrics: {},
    };
    const file = join(this.#dir, `agent-${i}.json`);
    await writeFile(file, JSON.stringify(config));
    const child = start('node', [...this.#flags, ...this.#flagsOf(i), this.#script, '--config', file], {
      env: agentNodeEnv(process.env),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const agent: ProcAgent = {
      id: `p${i}`,
      ip,
      child,
      peerId: '',
      monitor: '',
      multiaddr: '',
      startedAt: 0,
      stalls: [],
      logs: [],
    };
    this.agents.push(agent);
    this.tracker.add(agent.id);
    // An agent must never die on its own: say so, with its last log lines, if one exits unasked.
    const tail: string[] = [];
    const log = this.#logFile(agent.id);
    child.once('exit', (code, signal) => {
      log?.end(`${JSON.stringify({ bench: 'exit', code, signal, at: Date.now() })}\n`);
      if (this.#killed.has(agent.id) || this.#closing) return;
      const line = { msg: 'agent-exited', id: agent.id, code, signal, at: Date.now(), lastLines: tail };
      process.stderr.write(`${JSON.stringify(line)}\n`);
    });
    const started = new Promise<void>((resolve, reject) => {
      // 50 Node processes starting at once on 2 shared cores take a while.
      const t = setTimeout(
        () => reject(new Error(`agent ${i} did not start within ${startTimeoutMs / 1000} s`)),
        startTimeoutMs,
      );
      child.once('exit', (code) => reject(new Error(`agent ${i} exited (${code})`)));
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        if (tail.push(line.slice(0, 500)) > TAIL_LINES) tail.shift();
        log?.write(`${line}\n`);
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line);
        } catch {
          return;
        }
        if (msg.bench === 'event') this.tracker.ingest(agent.id, msg as unknown as RawEvent);
        else if (msg.bench === 'log') {
          if (agent.logs.length < MAX_LOGS) agent.logs.push(msg);
        } else if (msg.bench === 'stalled') agent.stalls.push({ from: msg.from as number, to: msg.to as number });
        else if (msg.bench === 'started') {
          agent.peerId = msg.peerId as string;
          agent.monitor = msg.monitor as string;
          agent.multiaddr = (msg.multiaddrs as string[])[0] ?? '';
          agent.startedAt = Date.now();
          clearTimeout(t);
          resolve();
        }
      });
    });
    await started;
    return agent;
  }

  #logFile(id: string): WriteStream | undefined {
    if (this.#logDir === undefined) return undefined;
    const file = createWriteStream(join(this.#logDir, `${id}.log`), { flags: 'a' });
    file.on('error', () => undefined);
    return file;
  }

  /**
   * Seed first, then n-1 agents at once, each given a few of the agents before it as seeds; resolves when all have started. `onProgress` is called
   * every 15 s while agents are still starting: how many have, and the CPU their processes used.
   */
  async start(
    n: number,
    opts: { startTimeoutMs?: number; onProgress?: (p: Record<string, unknown>) => void } = {},
  ): Promise<number> {
    await mkdir(this.#dir, { recursive: true });
    if (this.#logDir !== undefined) await mkdir(this.#logDir, { recursive: true });
    this.#keyFile = join(this.#dir, 'pool.key');
    await writeFile(this.#keyFile, generatePoolKey(), { mode: 0o600 });
    const seed = await this.#spawn(0, this.#loopback.next(), []);
    this.tracker.setTarget(n);
    const t0 = Date.now();
    let last = new Map<number, ProcSample>();
    const progress = setInterval(() => {
      const now = new Map<number, ProcSample>();
      let cpuPct = 0;
      for (const a of this.agents) {
        const pid = a.child.pid ?? 0;
        const s = sampleProc(pid);
        const before = last.get(pid);
        if (s) now.set(pid, s);
        if (s && before) cpuPct += rates(before, s).cpuPct;
      }
      last = now;
      opts.onProgress?.({
        s: Math.round((Date.now() - t0) / 1000),
        started: this.agents.filter((a) => a.startedAt > 0).length,
        of: n,
        cpuPctAllAgents: Math.round(cpuPct),
        load1: Number((loadavg()[0] ?? 0).toFixed(1)),
      });
    }, 15_000);
    try {
      // As the local launcher does (shared/remoter/local-start.ts): each agent is given a random
      // few of those started before it (the seed by peer id, the others by address alone, as
      // they have not reported theirs yet), so the joins of a storm spread over the pool.
      const ips = Array.from({ length: n - 1 }, () => this.#loopback.next());
      const earlier = (i: number) => [seed.multiaddr, ...ips.slice(0, i).map((ip) => `/ip4/${ip}/tcp/${P2P_PORT}`)];
      await Promise.all(
        ips.map((ip, i) => this.#spawn(i + 1, ip, sampleBootstrapPeers(earlier(i)), opts.startTimeoutMs)),
      );
    } finally {
      clearInterval(progress);
    }
    return t0;
  }

  /** Polls the tracker (fed by stdout) until `check` gives a value; null after timeoutMs. */
  until<T>(check: () => T | null, timeoutMs: number): Promise<T | null> {
    return untilValue(check, timeoutMs);
  }

  /** SIGUSR2: the agent busy-waits; resolves with the stall's interval once it has ended. */
  async stall(agent: ProcAgent): Promise<{ from: number; to: number } | null> {
    const before = agent.stalls.length;
    agent.child.kill('SIGUSR2');
    return this.until(() => agent.stalls[before] ?? null, 15_000);
  }

  async kill(agent: ProcAgent): Promise<number> {
    this.#killed.add(agent.id);
    const at = Date.now();
    await kill9(agent.child);
    return at;
  }

  /** poolparty_gossip_bytes_total (in + out) from the agent's /metrics; null if unreachable. */
  async gossipBytes(agent: ProcAgent): Promise<number | null> {
    try {
      const res = await fetch(`${agent.monitor}/metrics`, { signal: AbortSignal.timeout(5000) });
      const text = await res.text();
      let total = 0;
      for (const m of text.matchAll(
        /^poolparty_gossip_bytes_total\{direction="(?:in|out)"\} (\d+(?:\.\d+)?(?:e\+\d+)?)$/gm,
      )) {
        total += Number(m[1]);
      }
      return total;
    } catch {
      return null;
    }
  }

  /** SIGTERM (the agent leaves and exits, writing its CPU profile if asked), SIGKILL after 3 s. */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(
      this.agents.map(async (a) => {
        if (a.child.exitCode !== null || a.child.signalCode !== null) return;
        const exited = new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), 3000);
          a.child.once('exit', () => {
            clearTimeout(t);
            resolve(true);
          });
        });
        a.child.kill('SIGTERM');
        if (!(await exited)) await kill9(a.child);
      }),
    );
  }
}
