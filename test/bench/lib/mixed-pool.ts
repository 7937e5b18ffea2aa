import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AGENT_NODE_FLAGS, agentNodeEnv } from '../../../shared/agent-node-flags.ts';
import { defaultTunables } from '../../../shared/config/tunables.ts';
import type { AgentConfig } from '../../../shared/wire/agent-config.ts';
import { InprocPool } from './inproc.ts';
import { type LoopbackBlock, P2P_PORT } from './loopback.ts';
import { kill9, start } from './procs.ts';
import type { RawEvent } from './protocol.ts';
import { Tracker } from './tracker.ts';
import { untilValue } from './until.ts';

export interface MixedAgent {
  id: string;
  ip: string;
  peerId: string;
  /** Extra node flags of this process. */
  flags: string[];
  child: ChildProcess;
}

/**
 * A pool of N agents of which only K are processes (the artifact build of stall-agent.ts, with the
 * launchers' flags and environment): N−K in-process agents (lib/inproc.ts, bench hosts of perHost
 * each) start first, then the K processes join them, each bootstrapping from a few of them. For
 * measuring one process's cost in a pool of size N without N processes on the machine.
 */
export class MixedPool {
  /** What the process agents see (their raw events); observers p0, p1, … */
  readonly tracker = new Tracker();
  readonly agents: MixedAgent[] = [];
  readonly #inproc: InprocPool;

  constructor(
    readonly opts: {
      n: number;
      k: number;
      perHost: number;
      hostScript: string;
      script: string;
      dir: string;
      loopback: LoopbackBlock;
      nodeFlags: (i: number) => string[];
    },
  ) {
    this.#inproc = new InprocPool({
      n: opts.n - opts.k,
      perHost: opts.perHost,
      hostScript: opts.hostScript,
      dir: opts.dir,
      loopback: opts.loopback,
    });
  }

  /** Starts everything; resolves with the epoch ms the processes were started. */
  async start(): Promise<number> {
    const o = this.opts;
    await this.#inproc.prepare();
    if (o.n - o.k > 1) await this.#inproc.startRest();
    const ips = this.#inproc.ips;
    const t0 = Date.now();
    this.tracker.setTarget(o.n);
    await Promise.all(
      Array.from({ length: o.k }, (_, i) => {
        const seeds = [0, 1, 2].map(() => ips[Math.floor(Math.random() * ips.length)] as string);
        return this.#spawn(
          i,
          [...new Set(seeds)].map((ip) => `/ip4/${ip}/tcp/${P2P_PORT}`),
        );
      }),
    );
    return t0;
  }

  async #spawn(i: number, bootstrap: string[]): Promise<void> {
    const o = this.opts;
    const ip = o.loopback.next();
    const config: AgentConfig = {
      pool: 'bench',
      cloud: 'web',
      instanceId: `proc-${i}`,
      dataDir: join(o.dir, `proc-${i}`),
      poolKeyFile: join(o.dir, 'pool.key'),
      listen: [`/ip4/${ip}/tcp/${P2P_PORT}`],
      bootstrap,
      monitor: { host: ip, port: 8642, url: `http://${ip}:8642` },
      tunables: defaultTunables(),
      metrics: {},
    };
    const file = join(o.dir, `proc-${i}.json`);
    await writeFile(file, JSON.stringify(config));
    const child = start('node', [...AGENT_NODE_FLAGS, ...o.nodeFlags(i), o.script, '--config', file], {
      env: agentNodeEnv(process.env),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const agent: MixedAgent = { id: `p${i}`, ip, peerId: '', child, flags: o.nodeFlags(i) };
    this.agents.push(agent);
    this.tracker.add(agent.id);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`process agent ${i} did not start in 240 s`)), 240_000);
      child.once('exit', (code) => reject(new Error(`process agent ${i} exited (${code})`)));
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        const msg = benchMessage(line);
        if (msg?.bench === 'event') this.tracker.ingest(agent.id, msg as unknown as RawEvent);
        if (msg?.bench !== 'started') return;
        agent.peerId = msg.peerId as string;
        clearTimeout(t);
        resolve();
      });
    });
  }

  until<T>(check: () => T | null, timeoutMs: number): Promise<T | null> {
    return untilValue(check, timeoutMs);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.agents.map(async (a) => {
        if (a.child.exitCode !== null || a.child.signalCode !== null) return;
        a.child.kill('SIGTERM');
        const exited = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), 3000);
          a.child.once('exit', () => {
            clearTimeout(t);
            resolve(true);
          });
        });
        if (!exited) await kill9(a.child);
      }),
    );
    await this.#inproc.close();
  }
}

/** A bench agent's stdout line ({"bench": …}, stall-agent.ts), or null for anything else. */
function benchMessage(line: string): Record<string, unknown> | null {
  try {
    const msg: unknown = JSON.parse(line);
    return msg !== null && typeof msg === 'object' ? (msg as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
