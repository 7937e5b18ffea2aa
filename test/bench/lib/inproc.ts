import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AgentTunables, defaultTunables } from '../../../shared/config/tunables.ts';
import { generatePoolKey } from '../../../shared/pool-key.ts';
import { sampleBootstrapPeers } from '../../../shared/remoter/bootstrap-sample.ts';
import { SCALING_DEFAULTS, type ScalingConfig } from '../../../shared/scaling/config.ts';
import type { AgentConfig } from '../../../shared/wire/agent-config.ts';
import type { MetricSourceSpec } from '../../../shared/wire/metrics.ts';
import { type LoopbackBlock, P2P_PORT } from './loopback.ts';
import { kill9, track } from './procs.ts';
import type { FakeRemoterSpec, HostReply, HostRequest, LaunchRecord, RawEvent, StartedAgent } from './protocol.ts';
import { Tracker } from './tracker.ts';
import { untilValue } from './until.ts';

/** The parts of Scaler.snapshot() the bench reads. */
export interface ScalingSnapshot {
  leading: boolean;
  rules: { expand: { sustainMs: number; sustain: { since: number | null } } | null };
  decisions: Array<{ at: number; action: string; reason: string; result?: string }>;
}

export interface InprocPoolOptions {
  n: number;
  /** Agents per host process (the rest of the machine's cores share the others). */
  perHost: number;
  hostScript: string;
  dir: string;
  loopback: LoopbackBlock;
  tunables?: Partial<AgentTunables>;
  metrics?: Record<string, MetricSourceSpec>;
  scaling?: { min: number; max: number; config: Partial<ScalingConfig> };
  fake?: FakeRemoterSpec;
  /** Extra node flags for host processes (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** The seed gets a host process of its own (the others share the rest): is the seed's loop the limit? */
  seedAlone?: boolean;
  /** Every joiner's only bootstrap address is the seed (before session 19; Serf's bench still joins so). */
  oneSeed?: boolean;
}

/**
 * The bootstrap addresses of joiner `i` (1..n-1), as the local launcher picks them
 * (shared/remoter/local-start.ts): a random few of the agents started before it — the seed and
 * joiners 1..i-1, whose addresses are known before they listen (fixed port). Given the seed alone,
 * every joiner's first connection queued at one listener: libuv accepts one connection per
 * listener per loop turn, and the seed's loop is shared with its host's other agents (sessions
 * 17-19). A joiner whose seeds are not listening yet is refused at once and tries the next.
 */
export function joinerSeeds(seed: string, earlierIps: readonly string[], rand: () => number = Math.random): string[] {
  return sampleBootstrapPeers([seed, ...earlierIps.map((ip) => `/ip4/${ip}/tcp/${P2P_PORT}`)], undefined, rand);
}

class Host {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  eventsRead = 0;
  readonly ready: Promise<void>;

  constructor(script: string, flags: string[]) {
    this.#child = track(fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: flags }));
    this.ready = new Promise((resolve, reject) => {
      this.#pending.set(0, { resolve: () => resolve(), reject });
    });
    this.#child.on('message', (msg: HostReply) => {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(new Error(msg.error));
    });
    this.#child.once('exit', (code, signal) => {
      for (const p of this.#pending.values()) p.reject(new Error(`bench host exited (${code ?? signal})`));
      this.#pending.clear();
    });
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  request<T>(req: HostRequest, timeoutMs = 60_000): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`bench host: ${req.op} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(t);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      this.#child.send({ id, req });
    });
  }

  /** Disconnects (the host exits at once, writing its CPU profile if asked), SIGKILL after 3 s. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 3000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (child.connected) child.disconnect();
    if (!(await exited)) await kill9(child);
  }
}

/**
 * N in-process agents spread over host processes of `perHost` agents each, each agent on its own
 * loopback address with ports chosen by the OS. The first agent (the seed) starts alone; the
 * others start together, each with a launcher's few of the agents before it as bootstrap (joinerSeeds).
 */
export class InprocPool {
  readonly tracker = new Tracker();
  /** Observer ids (peer ids) of every agent, in start order. */
  readonly peers: string[] = [];
  readonly startMs: number[] = [];
  /** Loopback address of every agent configured so far, in config order. */
  readonly ips: string[] = [];
  readonly #o: InprocPoolOptions;
  readonly #hosts: Host[] = [];
  /** Per host: agent index → peer id. */
  readonly #index: string[][] = [];
  readonly #crashed = new Set<string>();
  #keyFile = '';

  constructor(opts: InprocPoolOptions) {
    this.#o = opts;
  }

  get alivePeers(): string[] {
    return this.peers.filter((p) => !this.#crashed.has(p));
  }

  get hostPids(): number[] {
    return this.#hosts.map((h) => h.pid);
  }

  config(i: number, bootstrap: string[]): AgentConfig {
    const o = this.#o;
    const ip = o.loopback.next();
    this.ips.push(ip);
    const tunables = { ...defaultTunables(o.tunables?.heartbeatInterval ?? 1000), ...o.tunables };
    return {
      pool: 'bench',
      cloud: 'web',
      instanceId: `bench-${i}`,
      dataDir: join(o.dir, `agent-${i}`),
      poolKeyFile: this.#keyFile,
      listen: [`/ip4/${ip}/tcp/${P2P_PORT}`],
      bootstrap,
      monitor: { host: ip, port: 0, url: '' },
      tunables,
      metrics: o.metrics ?? {},
      ...(o.scaling
        ? {
            scaling: {
              min: o.scaling.min,
              max: o.scaling.max,
              config: { ...SCALING_DEFAULTS, ...o.scaling.config },
              // Read to build a real remoter base (the bench injects a fake one) and by membership
              // binding: a claim to a cloud the pool lacks binds nobody. Its provider is no real
              // one, so members are unchecked, as on a cloud without evidence.
              definition: { name: 'bench', clouds: { web: { using: { provider: 'bench' } } } } as never,
              stateDir: join(o.dir, 'state'),
            },
          }
        : {}),
    };
  }

  /** Starts the host processes and the seed agent; returns when the seed runs. */
  async prepare(): Promise<void> {
    const o = this.#o;
    await mkdir(o.dir, { recursive: true });
    this.#keyFile = join(o.dir, 'pool.key');
    await writeFile(this.#keyFile, generatePoolKey(), { mode: 0o600 });
    const hosts = o.seedAlone ? 1 + Math.ceil((o.n - 1) / o.perHost) : Math.ceil(o.n / o.perHost);
    for (let h = 0; h < hosts; h++) {
      this.#hosts.push(new Host(o.hostScript, o.nodeFlags ?? []));
      this.#index.push([]);
    }
    await Promise.all(this.#hosts.map((h) => h.ready));
    await this.#startOn(0, [this.config(0, [])]);
  }

  /** Starts agents 1..n-1 at once; resolves with the epoch ms the start was issued. */
  async startRest(): Promise<number> {
    const o = this.#o;
    const seed = this.#seedAddr();
    const perHost: AgentConfig[][] = this.#hosts.map(() => []);
    for (let i = 1; i < o.n; i++) {
      // Host 0 already holds the seed; fill hosts evenly (all but host 0 when the seed is alone).
      const h = o.seedAlone ? 1 + (i % (this.#hosts.length - 1)) : i % this.#hosts.length;
      // this.ips holds the seed's and joiners 1..i-1's addresses (config order).
      const seeds = o.oneSeed ? [seed] : joinerSeeds(seed, this.ips.slice(1));
      (perHost[h] as AgentConfig[]).push(this.config(i, seeds));
    }
    this.tracker.setTarget(o.n);
    const t0 = Date.now();
    await Promise.all(perHost.map((configs, h) => (configs.length ? this.#startOn(h, configs) : undefined)));
    return t0;
  }

  async #startOn(h: number, configs: AgentConfig[]): Promise<void> {
    const host = this.#hosts[h] as Host;
    const started = await host.request<StartedAgent[]>({
      op: 'start',
      configs,
      ...(this.#o.fake ? { fake: this.#o.fake } : {}),
    });
    for (const a of started) {
      (this.#index[h] as string[]).push(a.peerId);
      this.peers.push(a.peerId);
      this.startMs.push(a.startMs);
      this.tracker.add(a.peerId);
      if (!this.#seedMultiaddr) this.#seedMultiaddr = a.multiaddrs[0] ?? '';
    }
  }

  #seedMultiaddr = '';
  #seedAddr(): string {
    return this.#seedMultiaddr;
  }

  /** Pulls new raw events from every host into the tracker. */
  async poll(): Promise<void> {
    await Promise.all(
      this.#hosts.map(async (host, h) => {
        const events = await host.request<RawEvent[]>({ op: 'events', from: host.eventsRead });
        host.eventsRead += events.length;
        const index = this.#index[h] as string[];
        for (const e of events) {
          const observer = index[e.agent];
          if (observer) this.tracker.ingest(observer, e);
        }
      }),
    );
  }

  /** Polls every `everyMs` until `check` returns a value (bounded by timeoutMs); null on timeout. */
  until<T>(check: () => T | null, timeoutMs: number, everyMs = 100): Promise<T | null> {
    return untilValue(
      async () => {
        await this.poll();
        return check();
      },
      timeoutMs,
      everyMs,
    );
  }

  /** Crashes agents as peers see a kill -9 (agent.crash()); returns the epoch ms it was issued. */
  async crash(peerIds: string[]): Promise<number> {
    const at = Date.now();
    for (const p of peerIds) this.#crashed.add(p);
    await Promise.all(
      this.#hosts.map((host, h) => {
        const mine = peerIds.filter((p) => (this.#index[h] as string[]).includes(p));
        return mine.length ? host.request({ op: 'crash', peerIds: mine }) : undefined;
      }),
    );
    return at;
  }

  async launches(): Promise<LaunchRecord[]> {
    return (await Promise.all(this.#hosts.map((h) => h.request<LaunchRecord[]>({ op: 'launches' })))).flat();
  }

  /** The scaler snapshot (as GET /scaling shows it) of one agent. */
  async scaling(peerId: string): Promise<ScalingSnapshot | null> {
    const h = this.#index.findIndex((ids) => ids.includes(peerId));
    return h < 0 ? null : ((await this.#hosts[h]?.request({ op: 'scaling', peerId })) as ScalingSnapshot | null);
  }

  /** Event-loop delay of each host since the last call (ms). */
  async lag(): Promise<Array<{ meanMs: number; p99Ms: number; maxMs: number }>> {
    return Promise.all(
      this.#hosts.map((h) => h.request<{ meanMs: number; p99Ms: number; maxMs: number }>({ op: 'lag' })),
    );
  }

  /** Sends one request to every host; answers in host order. */
  async ask<T>(req: HostRequest): Promise<T[]> {
    return Promise.all(this.#hosts.map((h) => h.request<T>(req)));
  }

  async connections(): Promise<number[]> {
    return (await Promise.all(this.#hosts.map((h) => h.request<number[]>({ op: 'connections' })))).flat();
  }

  async close(): Promise<void> {
    await Promise.all(this.#hosts.map((h) => h.kill()));
  }
}
