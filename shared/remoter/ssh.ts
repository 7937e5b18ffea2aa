import { join, resolve } from 'node:path';
import { ensurePoolKey } from '../pool-key.ts';
import { loadArtifact } from '../provision/artifact.ts';
import { deprovisionHost, type HostTarget, type ProvisionTimeouts } from '../provision/provision.ts';
import type { HealthView } from '../wire/cluster.ts';
import type { JsonStore } from './json-store.ts';
import { checkRecordedLaunch } from './launch-check.ts';
import { ensureLauncherKey, withCertificate } from './ssh-certificate.ts';
import { type SshInstanceRecord, toRecord } from './ssh-instance.ts';
import { SSH_REMOTER_DEFAULTS, type SshRemoterOptions, type SshRemoterTunables } from './ssh-options.ts';
import { type Outcome, provisionBatch } from './ssh-provision-batch.ts';
import { reconcileHosts } from './ssh-reconcile.ts';
import { reserveHosts } from './ssh-reserve.ts';
import { cutShort, inUse, type SshHostRecord, type SshState, sshStateStore } from './ssh-state.ts';
import { expandHome, fetchHealth } from './ssh-util.ts';
import type { LaunchRequest, ListFilter, ReconcileReport, RemoterBase } from './types.ts';
import { RemoterError } from './types.ts';

/**
 * The remoter base of static SSH hosts: the cloud lists its machines; `launch` takes hosts not in
 * use and provisions an agent on each (shared/provision), `terminate` deprovisions and frees them,
 * `list` reports them with their agent's /health. Each agent binds its host's address: monitor
 * http://<host>:<monitorPort>, p2p /ip4/<host>/tcp/<p2pPort>. State is `<stateDir>/ssh/hosts.json`
 * (lock-guarded); host keys are checked against `<stateDir>/known_hosts`.
 */

// index.ts, load.ts and the CLI import these from here.
export type { AgentHealth, SshInstanceRecord } from './ssh-instance.ts';
export { SSH_REMOTER_DEFAULTS, type SshRemoterOptions, type SshRemoterTunables } from './ssh-options.ts';

/** Some hosts of a launch or terminate failed; `failures` keeps each host's original error. */
export class SshRemoterError extends RemoterError {
  override name = 'SshRemoterError';
  constructor(
    message: string,
    readonly failures: { host: string; error: Error }[],
  ) {
    super(message);
  }
}

/** Errors raised before anything was installed on the host: its record can be freed at once. */
const NOTHING_INSTALLED = new Set([
  'SshUnreachableError',
  'SshAuthError',
  'SshKeyFileError',
  'HostKeyMismatchError',
  'NodeMissingError',
  'NodeTooOldError',
  'ArtifactError',
  'PoolKeyError',
]);

export function createSshRemoter(opts: SshRemoterOptions): SshRemoter {
  return new SshRemoter(opts);
}

export class SshRemoter implements RemoterBase {
  readonly provider = 'ssh';
  private readonly tunables: SshRemoterTunables;
  private readonly store: JsonStore<SshState>;
  private readonly stateDir: string;

  constructor(private readonly opts: SshRemoterOptions) {
    if (opts.using.provider !== 'ssh') throw new RemoterError(`cloud '${opts.cloud}' does not use the ssh provider`);
    this.tunables = { ...SSH_REMOTER_DEFAULTS };
    for (const key of Object.keys(SSH_REMOTER_DEFAULTS) as (keyof SshRemoterTunables)[]) {
      if (opts[key] !== undefined) this.tunables[key] = opts[key];
    }
    this.stateDir = resolve(opts.stateDir);
    this.store = sshStateStore(this.stateDir, this.tunables);
  }

  get knownHostsFile(): string {
    return join(this.stateDir, 'known_hosts');
  }

  async launch(req: LaunchRequest): Promise<SshInstanceRecord[]> {
    checkRecordedLaunch(req, this.opts.cloud);
    // Before reserving anything: a missing artifact must not leave hosts 'pending'.
    const artifact =
      typeof this.opts.artifact === 'object' ? this.opts.artifact : await loadArtifact(this.opts.artifact);
    const keyFile = join(this.stateDir, 'pool.key');
    // The CLI is the only launcher of ssh hosts (their agents get no scaling block): it holds the
    // key that certifies each agent's peer id for its host, and no node ever does.
    const launcherKey = await ensureLauncherKey(this.stateDir);
    const clouds = this.opts.clouds ?? { [this.opts.cloud]: 'ssh' };
    const validity = this.opts.using.certificateValidity;

    // A host whose agent does not answer is replaced in place (docs/ssh.md), so its record does not
    // hold it; asked before the lock, because /health takes time.
    const dead = await this.deadAgents();
    const reserved = await this.store.update(async (state) => {
      await ensurePoolKey(keyFile); // under the lock: two launchers must not create two keys
      const replaceable = (h: SshHostRecord) => cutShort(h) || (h.state === 'running' && dead.get(h.id) === h.launchId);
      const earlier = state.hosts.filter((h) => h.clientToken === req.clientToken && inUse(h) && !replaceable(h));
      if (earlier.length > 0) return { earlier: earlier.map((h) => ({ ...h })) };
      // Write-ahead: the batch is recorded 'pending' with this launcher's pid before any host is touched.
      const { using, pool, cloud } = this.opts;
      return { batch: reserveHosts(state, req, replaceable, { using, pool, cloud }) };
    });
    if (reserved.earlier) return reserved.earlier.map((r) => toRecord(r));
    const batch = reserved.batch ?? [];
    if (batch.length === 0) return [];

    const existing = (await this.store.read()).hosts.filter(
      (h) => h.state === 'running' && h.peerId && !batch.some((b) => b.id === h.id),
    );
    const bundle = await this.opts.bundle?.();
    const outcomes = await provisionBatch(batch, existing, {
      target: (h) => this.target(h),
      common: {
        knownHostsFile: this.knownHostsFile,
        acceptNewHostKey: this.opts.acceptNewHostKey,
        poolKeyFile: keyFile,
        artifact,
        env: this.opts.env,
        timeouts: this.timeouts(),
        onProgress: this.opts.onProgress,
      },
      ...(bundle ? { bundle } : {}),
      agentConfig: (runtime, peerId) =>
        withCertificate(this.opts.agentConfig(runtime), launcherKey, clouds, peerId, Date.now(), validity),
    });

    const failures: { host: string; error: Error }[] = [];
    const records = await this.store.update((state) => {
      const out: SshHostRecord[] = [];
      batch.forEach((b, i) => {
        const rec = state.hosts.find((h) => h.id === b.id && h.launchId === b.launchId);
        const outcome = outcomes[i] as Outcome;
        if (!rec) return; // terminated by someone else meanwhile
        delete rec.launcherPid;
        if (outcome.ok) {
          Object.assign(rec, { state: 'running', peerId: outcome.peerId, init: outcome.init });
          delete rec.error;
          out.push({ ...rec });
        } else {
          failures.push({ host: rec.id, error: outcome.error });
          rec.error = outcome.error.message;
          if (NOTHING_INSTALLED.has(outcome.error.name)) {
            rec.state = 'terminated';
            rec.terminatedAt = Date.now();
          }
        }
      });
      return out;
    });
    if (failures.length > 0) {
      throw new SshRemoterError(
        `could not provision ${failures.length} of ${batch.length} host${batch.length > 1 ? 's' : ''}: ` +
          failures.map((f) => `${f.host}: ${f.error.message}`).join('; '),
        failures,
      );
    }
    return records.map((r) => toRecord(r));
  }

  async list(filter: ListFilter): Promise<SshInstanceRecord[]> {
    if (filter.pool !== this.opts.pool) return [];
    const hosts = (await this.store.read()).hosts.filter(
      (h) => h.pool === filter.pool && (filter.cloud === undefined || h.cloud === filter.cloud),
    );
    return Promise.all(
      hosts.map(async (h) => {
        if (h.state !== 'running') return toRecord(h);
        const health = await fetchHealth(h.monitor, this.tunables.healthTimeout);
        return toRecord(h, health ?? null);
      }),
    );
  }

  /** Deprovisions (stops the agent, removes its files) and frees the hosts; resolves when all are done. */
  async terminate(ids: string[]): Promise<void> {
    const targets = await this.store.update((state) => {
      const unknown = ids.filter((id) => !state.hosts.some((h) => h.id === id));
      if (unknown.length > 0) {
        throw new RemoterError(`unknown instance${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);
      }
      const chosen = state.hosts.filter((h) => ids.includes(h.id) && inUse(h));
      for (const h of chosen) h.state = 'stopping';
      return chosen.map((h) => ({ ...h }));
    });
    const results = await Promise.allSettled(targets.map((h) => this.deprovision(h)));
    const failures: { host: string; error: Error }[] = [];
    await this.store.update((state) => {
      targets.forEach((t, i) => {
        const rec = state.hosts.find((h) => h.id === t.id);
        const r = results[i] as PromiseSettledResult<unknown>;
        if (!rec) return;
        if (r.status === 'fulfilled') {
          rec.state = 'terminated';
          rec.terminatedAt = Date.now();
          delete rec.error;
        } else {
          const error = r.reason instanceof Error ? r.reason : new Error(String(r.reason));
          rec.error = error.message;
          failures.push({ host: t.id, error });
        }
      });
    });
    if (failures.length > 0) {
      throw new SshRemoterError(
        `could not terminate ${failures.map((f) => `${f.host}: ${f.error.message}`).join('; ')}`,
        failures,
      );
    }
  }

  /**
   * Settles launches cut short (a 'pending' record whose launcher died): adopted if the host's
   * agent answers /health, else deprovisioned and freed. Then ends strays: an agent answering as
   * one of this cloud's hosts that no record holds is deprovisioned. Hosts that could not be
   * deprovisioned stay 'stopping' (terminate retries them) and are reported in the error.
   */
  async reconcile(filter: ListFilter): Promise<ReconcileReport> {
    const { report, failures } = await reconcileHosts(
      {
        pool: this.opts.pool,
        cloud: this.opts.cloud,
        using: this.opts.using,
        store: this.store,
        health: (monitor, id) => this.health(monitor, id),
        deprovision: (h) => this.deprovision(h),
      },
      filter,
    );
    if (failures.length > 0) {
      throw new SshRemoterError(
        `could not end ${failures.map((f) => `${f.host}: ${f.error.message}`).join('; ')}`,
        failures,
      );
    }
    return report;
  }

  /** Running hosts of this cloud whose agent does not answer /health (twice), with their launch ids. */
  private async deadAgents(): Promise<Map<string, string>> {
    const { pool, cloud } = this.opts;
    const running = (await this.store.read()).hosts.filter(
      (h) => h.pool === pool && h.cloud === cloud && h.state === 'running',
    );
    const answers = await Promise.all(running.map((h) => this.health(h.monitor, h.id, 2)));
    return new Map(running.filter((_, i) => !answers[i]).map((h) => [h.id, h.launchId]));
  }

  /** The agent's /health when it answers as instance `id`, within `attempts` tries. */
  private async health(monitor: string, id: string, attempts = 1): Promise<HealthView | undefined> {
    for (let i = 0; i < attempts; i++) {
      const health = await fetchHealth(monitor, this.tunables.healthTimeout);
      if (health) return health.instanceId === id ? health : undefined;
    }
    return undefined;
  }

  private deprovision(h: Pick<SshHostRecord, 'host' | 'port' | 'prefix'>) {
    return deprovisionHost({
      target: this.target(h),
      knownHostsFile: this.knownHostsFile,
      acceptNewHostKey: this.opts.acceptNewHostKey,
      timeouts: this.timeouts(),
      onProgress: this.opts.onProgress,
    });
  }

  private target(h: Pick<SshHostRecord, 'host' | 'port' | 'prefix'>): HostTarget {
    const { using } = this.opts;
    return {
      host: h.host,
      port: h.port,
      prefix: h.prefix,
      user: using.user,
      keyFile: expandHome(using.keyFile),
      init: using.init,
    };
  }

  private timeouts(): Partial<ProvisionTimeouts> {
    return { waitTimeout: this.opts.using.waitTimeout, ...this.opts.timeouts };
  }
}
