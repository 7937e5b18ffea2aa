import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { poolKeyFile } from '../config/resolve.ts';
import { ensureIdentity } from '../identity.ts';
import { runningArtifactFile } from '../package-files.ts';
import { ensurePoolKey } from '../pool-key.ts';
import { faultPoint } from './fault-point.ts';
import { checkRecordedLaunch } from './launch-check.ts';
import { launchCloud } from './launch-cloud.ts';
import { localAgentBin } from './local-agent-bin.ts';
import {
  definedOnly,
  LOCAL_REMOTER_DEFAULTS,
  type LocalRemoterOptions,
  type LocalRemoterTunables,
} from './local-options.ts';
import { findAgentProcesses, signalAgent } from './local-process.ts';
import {
  cloudOf,
  type LocalInstanceRecord,
  latestLaunch,
  markTerminated,
  prune,
  runs,
  toRecord,
  waitForExit,
} from './local-records.ts';
import { reserveInstances } from './local-reserve.ts';
import { startInstances } from './local-start.ts';
import { type LocalInstance, type LocalState, LocalStateStore } from './local-state.ts';
import type { LaunchRequest, ListFilter, ReconcileReport, RemoterBase } from './types.ts';
import { RemoterError } from './types.ts';

/**
 * The local remoter base: every instance is a detached `node bin/poolparty-agent.mjs` process on
 * this machine (an upgraded leader starts its own artifact instead: local-agent-bin.ts) with its own loopback address. State lives in `<stateDir>/local/`:
 * instances.json plus `<id>/{agent.json, data/, agent.log}` per instance.
 *
 * Records of terminated instances (terminated by us or found dead) are kept, marked
 * 'terminated', so `list` shows what happened; only the newest `keepTerminated` are kept.
 * A clientToken makes a launch idempotent while any instance of that launch is not terminated;
 * once all of them are gone the token starts new instances — a retry must not resurrect nothing.
 */

// index.ts, load.ts and the tests import these from here.
export { LOCAL_REMOTER_DEFAULTS, type LocalRemoterOptions, type LocalRemoterTunables } from './local-options.ts';
export type { LocalInstanceRecord } from './local-records.ts';

export function createLocalRemoter(opts: LocalRemoterOptions): LocalRemoter {
  return new LocalRemoter(opts);
}

export class LocalRemoter implements RemoterBase {
  readonly provider = 'local';
  readonly dir: string;
  private readonly tunables: LocalRemoterTunables;
  private readonly store: LocalStateStore;

  constructor(
    private readonly opts: LocalRemoterOptions,
    /** The artifact this code runs as; a test stands in for the artifact build here. */
    private readonly running: string | undefined = runningArtifactFile(),
  ) {
    launchCloud(opts, 'local');
    this.tunables = { ...LOCAL_REMOTER_DEFAULTS, ...definedOnly(opts) };
    this.dir = join(resolve(opts.stateDir), 'local');
    this.store = new LocalStateStore(this.dir, this.tunables);
  }

  /**
   * Write-ahead: under the state lock, the new instances are recorded 'launching' (ids from the
   * persisted counter, token, addresses) and that record is fsync'd before any process starts;
   * each instance is recorded 'running' with its pid as soon as it is spawned. A launcher killed
   * anywhere in between leaves records that the next launch, terminate or reconcile settles.
   */
  async launch(req: LaunchRequest): Promise<LocalInstanceRecord[]> {
    checkRecordedLaunch(req, this.opts.cloud);
    // Looked up at every launch, not once: during a --rollback a leader launches what the pool
    // returns to (local-rollback-target.ts), whatever it launched before. A pool copy is made once.
    const agentBin = resolve(
      await localAgentBin({
        agentBin: this.opts.agentBin,
        env: this.opts.env ?? process.env,
        running: this.running,
        dir: this.dir,
      }),
    );
    if (!existsSync(agentBin)) throw new RemoterError(`agent launcher not found: ${agentBin}`);
    const keyFile = poolKeyFile(resolve(this.opts.stateDir));

    let failure: unknown;
    const records = await this.store.update(async (state, commit) => {
      // Under the lock: two launchers creating the key at once would otherwise race.
      await ensurePoolKey(keyFile);
      await this.settle(state);
      const earlier = latestLaunch(state, req.clientToken);
      if (earlier.some((i) => i.state !== 'terminated')) return earlier.map(toRecord);
      const batch = await reserveInstances(state, req, {
        pool: this.opts.pool,
        dir: this.dir,
        maxAddressScan: this.tunables.maxAddressScan,
      });
      if (batch.length === 0) return [];
      faultPoint('before-record');
      await commit();
      faultPoint('after-record');
      try {
        await startInstances(state, batch, { opts: this.opts, agentBin, keyFile, commit });
      } catch (err) {
        failure = err; // keep what did start in the state, so it can be listed and terminated
        await this.settle(state);
      }
      prune(state, this.tunables.keepTerminated);
      return batch.filter((i) => i.state === 'running').map(toRecord);
    });
    if (failure) throw failure instanceof RemoterError ? failure : new RemoterError(errorMessage(failure));
    return records;
  }

  /** Instances of the pool; those of a launch in progress (or cut short) are 'pending'. */
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
    const targets = await this.store.update(async (state) => {
      const unknown = ids.filter((id) => !state.instances.some((i) => i.id === id));
      if (unknown.length > 0)
        throw new RemoterError(`unknown instance${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
      await this.settle(state); // a 'pending' id of a cut-short launch: its process, if any, is found
      const signalled: LocalInstance[] = [];
      for (const inst of state.instances.filter((i) => ids.includes(i.id) && i.state !== 'terminated')) {
        if (runs(inst)) {
          signalAgent(inst.pid as number, 'SIGTERM');
          inst.state = 'stopping';
          signalled.push({ ...inst });
        } else markTerminated(inst);
      }
      return signalled;
    });
    const alive = await this.stop(targets);
    await this.store.update((state) => this.refresh(state));
    if (alive.length > 0) {
      throw new RemoterError(`still running after SIGKILL: ${alive.map((i) => `${i.id} (pid ${i.pid})`).join(', ')}`);
    }
  }

  /**
   * Settles cut-short launches (adopted if their process runs, else terminated), then ends every
   * agent process under this pool's state dir that no live record names (of `filter.cloud` only,
   * when given): SIGTERM, SIGKILL after terminateGrace. Strays are ended outside the lock.
   */
  async reconcile(filter: ListFilter): Promise<ReconcileReport> {
    const report: ReconcileReport = { adopted: [], cleared: [], strays: [] };
    if (filter.pool !== this.opts.pool.name) return report;
    const strays = await this.store.update(async (state) => {
      await this.settle(state, report);
      const named = new Set(
        state.instances.filter((i) => i.state !== 'terminated' && i.pid !== undefined).map((i) => i.pid),
      );
      // Another cloud's strays are its leader's; one whose config cannot be read is anybody's.
      const ofCloud = (configFile: string) => {
        const cloud = filter.cloud === undefined ? undefined : cloudOf(configFile);
        return cloud === undefined || cloud === filter.cloud;
      };
      return findAgentProcesses(this.dir)
        .filter((p) => !named.has(p.pid) && ofCloud(p.configFile))
        .map((p) => ({ id: basename(dirname(p.configFile)), pid: p.pid, configFile: p.configFile }));
    });
    for (const p of strays) signalAgent(p.pid, 'SIGTERM');
    const alive = await this.stop(strays);
    report.strays = strays.map((p) => `${p.id} (pid ${p.pid})`);
    if (alive.length > 0) {
      throw new RemoterError(
        `stray agents still running after SIGKILL: ${alive.map((p) => `pid ${p.pid}`).join(', ')}`,
      );
    }
    return report;
  }

  /** Waits up to terminateGrace for signalled processes, SIGKILLs the rest; returns those still running. */
  private async stop<T extends { pid?: number; configFile: string }>(targets: T[]): Promise<T[]> {
    if (targets.length === 0) return [];
    const { terminateGrace, terminatePoll } = this.tunables;
    let alive = await waitForExit(targets, terminateGrace, terminatePoll);
    for (const p of alive) signalAgent(p.pid as number, 'SIGKILL');
    if (alive.length > 0) alive = await waitForExit(alive, Math.max(2000, terminateGrace), terminatePoll);
    return alive;
  }

  /**
   * Under the lock a 'launching' record has no live launcher (it holds the lock until its last
   * record): its agent, found in the process table by its config path, is adopted, or the record
   * is terminated. Then instances whose process is gone are marked terminated.
   */
  private async settle(state: LocalState, report?: ReconcileReport): Promise<void> {
    const cut = state.instances.filter((i) => i.state === 'launching');
    const running = cut.length > 0 ? findAgentProcesses(this.dir) : [];
    for (const inst of cut) {
      const proc = running.find((p) => p.configFile === inst.configFile);
      if (proc) {
        const peerId = await ensureIdentity(join(dirname(inst.configFile), 'data')).then(
          (id) => id.peerId,
          () => undefined,
        );
        Object.assign(inst, { state: 'running', pid: proc.pid }, peerId ? { peerId } : {});
        report?.adopted.push(inst.id);
      } else {
        markTerminated(inst);
        report?.cleared.push(inst.id);
      }
    }
    this.refresh(state);
  }

  private needsRefresh(state: LocalState): boolean {
    return state.instances.some((i) => i.state !== 'terminated' && i.state !== 'launching' && !runs(i));
  }

  /** Marks instances whose process is gone (or is no longer our agent) as terminated. */
  private refresh(state: LocalState): void {
    for (const inst of state.instances) {
      if (inst.state !== 'terminated' && inst.state !== 'launching' && !runs(inst)) markTerminated(inst);
    }
    prune(state, this.tunables.keepTerminated);
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
