import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { poolKeyFile, resolveAgentConfig } from '../config/resolve.ts';
import type { PoolDefinition } from '../config/schema.ts';
import { ensureIdentity } from '../identity.ts';
import { ensurePoolKey } from '../pool-key.ts';
import { allocateAddresses } from './address.ts';
import { isAgentAlive, signalAgent, spawnAgent } from './local-process.ts';
import { type LocalInstance, type LocalState, LocalStateStore } from './local-state.ts';
import { findPackageRoot } from './package-root.ts';
import type { InstanceRecord, LaunchRequest, ListFilter, RemoterBase } from './types.ts';
import { RemoterError, TAG_CLOUD, TAG_POOL, TAG_TOKEN } from './types.ts';

/**
 * The local remoter base: every instance is a detached `node bin/poolparty-agent.mjs` process on
 * this machine with its own loopback address. State lives in `<stateDir>/local/`:
 * instances.json plus `<id>/{agent.json, data/, agent.log}` per instance.
 *
 * Records of terminated instances (terminated by us or found dead) are kept, marked
 * 'terminated', so `list` shows what happened; only the newest `keepTerminated` are kept.
 * A clientToken makes a launch idempotent while any instance of that launch is not terminated;
 * once all of them are gone the token starts new instances — a retry must not resurrect nothing.
 */

export interface LocalRemoterTunables {
  /** How long terminate waits after SIGTERM before SIGKILL (ms). Default 5000: an agent's
   * graceful leave takes leaveGrace (500ms) plus shutdown; longer only slows `terminate`. */
  terminateGrace: number;
  /** How often terminate checks whether processes exited (ms). Default 100. */
  terminatePoll: number;
  /** Give up waiting for the state lock after this long (ms). Default 10000. */
  lockTimeout: number;
  /** Retry interval while another process holds the lock (ms). Default 25. */
  lockPoll: number;
  /** A lock file without a readable pid older than this is stale (ms). Default 5000. */
  lockStaleAfter: number;
  /** Most loopback addresses examined per launch (count). Default 1024. */
  maxAddressScan: number;
  /** Terminated records kept in instances.json (count). Default 50. */
  keepTerminated: number;
}

export const LOCAL_REMOTER_DEFAULTS: LocalRemoterTunables = {
  terminateGrace: 5000,
  terminatePoll: 100,
  lockTimeout: 10_000,
  lockPoll: 25,
  lockStaleAfter: 5000,
  maxAddressScan: 1024,
  keepTerminated: 50,
};

export interface LocalRemoterOptions extends Partial<LocalRemoterTunables> {
  pool: PoolDefinition;
  /** The cloud this remoter launches into (its `using` must be local()). */
  cloud: string;
  /** The pool's state dir (holds pool.key and local/). */
  stateDir: string;
  /** Agent launcher script. Default: env POOLPARTY_AGENT_BIN, else <package>/bin/poolparty-agent.mjs. */
  agentBin?: string;
  /** Node binary. Default process.execPath. */
  node?: string;
  /** Environment of spawned agents. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The config bundle new agents apply at first boot (they fetch it from their peers). */
  bundleHash?: string | (() => string | undefined | Promise<string | undefined>);
  /**
   * The laptop's compiled bundle: placed in each new agent's bundle cache and named in its config,
   * so the first node of a pool applies it at first boot with no peer to pull it from. Wins over
   * bundleHash.
   */
  bundle?: () => Promise<{ sha256: string; bytes: Buffer } | undefined>;
}

/** An instance as the local provider reports it: the common record plus process details. */
export interface LocalInstanceRecord extends InstanceRecord {
  pid: number;
  peerId: string;
  address: string;
  logFile: string;
}

export function createLocalRemoter(opts: LocalRemoterOptions): LocalRemoter {
  return new LocalRemoter(opts);
}

export class LocalRemoter implements RemoterBase {
  readonly provider = 'local';
  readonly dir: string;
  private readonly tunables: LocalRemoterTunables;
  private readonly store: LocalStateStore;
  private readonly agentBin: string;

  constructor(private readonly opts: LocalRemoterOptions) {
    const cloud = opts.pool.clouds[opts.cloud];
    if (!cloud) throw new RemoterError(`pool '${opts.pool.name}' has no cloud '${opts.cloud}'`);
    if (cloud.using.provider !== 'local')
      throw new RemoterError(`cloud '${opts.cloud}' does not use the local provider`);
    this.tunables = { ...LOCAL_REMOTER_DEFAULTS, ...definedOnly(opts) };
    this.dir = join(resolve(opts.stateDir), 'local');
    this.store = new LocalStateStore(this.dir, this.tunables);
    const env = opts.env ?? process.env;
    this.agentBin = resolve(
      opts.agentBin ?? env.POOLPARTY_AGENT_BIN ?? join(findPackageRoot(), 'bin', 'poolparty-agent.mjs'),
    );
  }

  async launch(req: LaunchRequest): Promise<LocalInstanceRecord[]> {
    if (req.cloud !== this.opts.cloud) {
      throw new RemoterError(`this remoter launches into cloud '${this.opts.cloud}', not '${req.cloud}'`);
    }
    if (!Number.isInteger(req.count) || req.count < 0) throw new RemoterError(`invalid count ${req.count}`);
    if (!req.clientToken) throw new RemoterError('a clientToken is required');
    for (const [key, value] of Object.entries(req.tags ?? {})) {
      if (typeof value !== 'string') throw new RemoterError(`tag '${key}' must be a string, got ${typeof value}`);
    }
    if (!existsSync(this.agentBin)) throw new RemoterError(`agent launcher not found: ${this.agentBin}`);
    const keyFile = poolKeyFile(resolve(this.opts.stateDir));

    let failure: unknown;
    const records = await this.store.update(async (state) => {
      // Under the lock: two launchers creating the key at once would otherwise race.
      await ensurePoolKey(keyFile);
      this.refresh(state);
      const earlier = latestLaunch(state, req.clientToken);
      if (earlier.some((i) => i.state !== 'terminated')) return earlier.map(toRecord);
      const launched: LocalInstance[] = [];
      try {
        await this.spawnInto(state, req, keyFile, launched);
      } catch (err) {
        failure = err; // keep what did start in the state, so it can be listed and terminated
      }
      prune(state, this.tunables.keepTerminated);
      return launched.map(toRecord);
    });
    if (failure) throw failure instanceof RemoterError ? failure : new RemoterError(errorMessage(failure));
    return records;
  }

  async list(filter: ListFilter): Promise<LocalInstanceRecord[]> {
    if (filter.pool !== this.opts.pool.name) return [];
    let state = await this.store.read();
    if (this.needsRefresh(state)) {
      state = await this.store.update((s) => {
        this.refresh(s);
        return s;
      });
    }
    return state.instances
      .filter((i) => i.pool === filter.pool && (filter.cloud === undefined || i.cloud === filter.cloud))
      .map(toRecord);
  }

  /** SIGTERM, up to terminateGrace for a graceful leave, then SIGKILL; resolves once all are gone. */
  async terminate(ids: string[]): Promise<void> {
    const targets = await this.store.update((state) => {
      const unknown = ids.filter((id) => !state.instances.some((i) => i.id === id));
      if (unknown.length > 0)
        throw new RemoterError(`unknown instance${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
      const signalled: LocalInstance[] = [];
      for (const inst of state.instances.filter((i) => ids.includes(i.id) && i.state !== 'terminated')) {
        if (isAgentAlive(inst.pid, inst.configFile)) {
          signalAgent(inst.pid, 'SIGTERM');
          inst.state = 'stopping';
          signalled.push({ ...inst });
        } else markTerminated(inst);
      }
      return signalled;
    });
    if (targets.length === 0) return;

    const { terminateGrace, terminatePoll } = this.tunables;
    let alive = await waitForExit(targets, terminateGrace, terminatePoll);
    for (const inst of alive) signalAgent(inst.pid, 'SIGKILL');
    if (alive.length > 0) alive = await waitForExit(alive, Math.max(2000, terminateGrace), terminatePoll);

    await this.store.update((state) => this.refresh(state));
    if (alive.length > 0) {
      throw new RemoterError(`still running after SIGKILL: ${alive.map((i) => `${i.id} (pid ${i.pid})`).join(', ')}`);
    }
  }

  private async spawnInto(state: LocalState, req: LaunchRequest, keyFile: string, out: LocalInstance[]): Promise<void> {
    const { pool } = this.opts;
    const { using } = pool.clouds[req.cloud]!;
    if (using.provider !== 'local') throw new RemoterError(`cloud '${req.cloud}' does not use the local provider`);
    const live = state.instances.filter((i) => i.state !== 'terminated' && i.pool === pool.name);
    const addresses = await allocateAddresses({
      first: using.firstAddress,
      count: req.count,
      taken: new Set(live.map((i) => i.address)),
      ports: [using.p2pPort, using.monitorPort],
      maxScan: this.tunables.maxAddressScan,
    });
    const peers = live.map(multiaddr);
    const launchId = randomBytes(6).toString('hex');
    const { bundleHash } = this.opts;
    const bundle = await this.opts.bundle?.();
    const sha256 = bundle?.sha256 ?? (typeof bundleHash === 'function' ? await bundleHash() : bundleHash);
    for (const address of addresses) {
      const id = `local-${state.nextIndex++}`;
      const dir = join(this.dir, id);
      const dataDir = join(dir, 'data');
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      const { peerId } = await ensureIdentity(dataDir);
      // Where the agent's bundle cache looks; the agent checks the hash again before unpacking.
      if (bundle) {
        await mkdir(join(dataDir, 'bundles'), { recursive: true, mode: 0o700 });
        await writeFile(join(dataDir, 'bundles', `${bundle.sha256}.tar.gz`), bundle.bytes, { mode: 0o600 });
      }
      const monitor = `http://${address}:${using.monitorPort}`;
      const config = resolveAgentConfig(pool, req.cloud, {
        instanceId: id,
        dataDir,
        poolKeyFile: keyFile,
        listen: [`/ip4/${address}/tcp/${using.p2pPort}`],
        bootstrap: [...peers],
        monitor: { host: address, port: using.monitorPort, url: monitor },
        stateDir: resolve(this.opts.stateDir),
        ...(sha256 ? { bundle: { sha256 } } : {}),
      });
      const configFile = join(dir, 'agent.json');
      const logFile = join(dir, 'agent.log');
      await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
      const pid = spawnAgent({
        node: this.opts.node ?? process.execPath,
        bin: this.agentBin,
        configFile,
        logFile,
        cwd: dir,
        env: this.opts.env ?? process.env,
      });
      const inst: LocalInstance = {
        id,
        pool: pool.name,
        cloud: req.cloud,
        state: 'running',
        address,
        p2pPort: using.p2pPort,
        monitorPort: using.monitorPort,
        pid,
        peerId,
        launchedAt: Date.now(),
        clientToken: req.clientToken,
        launchId,
        // The caller's tags (a leader's poolparty:term, poolparty:action) never replace ours.
        tags: { ...req.tags, [TAG_POOL]: pool.name, [TAG_CLOUD]: req.cloud, [TAG_TOKEN]: req.clientToken },
        monitor,
        configFile,
        logFile,
      };
      state.instances.push(inst);
      out.push(inst);
      peers.push(multiaddr(inst));
    }
  }

  private needsRefresh(state: LocalState): boolean {
    return state.instances.some((i) => i.state !== 'terminated' && !isAgentAlive(i.pid, i.configFile));
  }

  /** Marks instances whose process is gone (or is no longer our agent) as terminated. */
  private refresh(state: LocalState): void {
    for (const inst of state.instances) {
      if (inst.state !== 'terminated' && !isAgentAlive(inst.pid, inst.configFile)) markTerminated(inst);
    }
    prune(state, this.tunables.keepTerminated);
  }
}

/** The instances of the most recent launch made with `token`. */
function latestLaunch(state: LocalState, token: string): LocalInstance[] {
  const withToken = state.instances.filter((i) => i.clientToken === token);
  const last = withToken.at(-1);
  return last ? withToken.filter((i) => i.launchId === last.launchId) : [];
}

async function waitForExit(insts: LocalInstance[], timeout: number, poll: number): Promise<LocalInstance[]> {
  const deadline = Date.now() + timeout;
  let alive = insts.filter((i) => isAgentAlive(i.pid, i.configFile));
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(poll);
    alive = alive.filter((i) => isAgentAlive(i.pid, i.configFile));
  }
  return alive;
}

function markTerminated(inst: LocalInstance): void {
  inst.state = 'terminated';
  inst.terminatedAt = Date.now();
}

function prune(state: LocalState, keep: number): void {
  const dead = state.instances.filter((i) => i.state === 'terminated');
  if (dead.length <= keep) return;
  const drop = new Set(
    dead
      .sort((a, b) => (a.terminatedAt ?? 0) - (b.terminatedAt ?? 0))
      .slice(0, dead.length - keep)
      .map((i) => i.id),
  );
  state.instances = state.instances.filter((i) => !drop.has(i.id));
}

function multiaddr(i: LocalInstance): string {
  return `/ip4/${i.address}/tcp/${i.p2pPort}/p2p/${i.peerId}`;
}

function toRecord(i: LocalInstance): LocalInstanceRecord {
  return {
    id: i.id,
    state: i.state,
    privateIp: i.address,
    launchedAt: i.launchedAt,
    tags: { ...i.tags },
    monitor: i.monitor,
    pid: i.pid,
    peerId: i.peerId,
    address: i.address,
    logFile: i.logFile,
  };
}

function definedOnly(opts: Partial<LocalRemoterTunables>): Partial<LocalRemoterTunables> {
  const out: Partial<LocalRemoterTunables> = {};
  for (const key of Object.keys(LOCAL_REMOTER_DEFAULTS) as (keyof LocalRemoterTunables)[]) {
    if (opts[key] !== undefined) out[key] = opts[key];
  }
  return out;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
