import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPool } from '../../shared/config/load.ts';
import { createLocalRemoter, type LocalInstanceRecord, type LocalRemoter } from '../../shared/remoter/local.ts';
import { TAG_CLOUD } from '../../shared/remoter/types.ts';
import type { ClusterView } from '../../shared/wire/cluster.ts';
import { CLI, json } from '../fixtures/fault-pool.ts';
import { killMatching, randomLoopbackBase } from '../fixtures/procs.ts';
import { quickScaling } from '../fixtures/quick-scaling.ts';
import { type CliRun, runCli } from '../fixtures/run-cli.ts';
import { waitFor } from '../fixtures/wait.ts';

/**
 * A real local pool of two clouds for the fault suite: each cloud its own loopback range, bounds
 * and `queue` metric file (the test drives each cloud's rules apart), the fault pool's short
 * tunables (probe 250 ms, load reports 500 ms, replaceAfter 20 s, reapAfter 4 s), and a sampler
 * that lists the provider every 100 ms: the most instances each cloud ever had live, and ids seen
 * under two launches (reused).
 */

export interface CloudBounds {
  min: number;
  max: number;
}

/** A listed instance with the cloud its tags name. */
export type CloudInstance = LocalInstanceRecord & { cloud: string };

const { POOLPARTY_AGENT_BIN: _ignored, ...env } = process.env;

export class TwoCloudPool {
  /** cloud → the most instances the provider ever listed live for it. */
  readonly maxSeen = new Map<string, number>();
  readonly reused = new Set<string>();
  readonly #launchOf = new Map<string, number>();
  #sampling = false;
  #sampler: Promise<void> = Promise.resolve();

  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly bounds: Record<string, CloudBounds>,
    readonly remoter: LocalRemoter,
  ) {}

  static async create(name: string, bounds: Record<string, CloudBounds>): Promise<TwoCloudPool> {
    const dir = await mkdtemp(join(tmpdir(), `poolparty-${name}-`));
    const agent = "{ heartbeatInterval: '250ms', loadInterval: '500ms', replaceAfter: '20s', reapAfter: '4s' }";
    const scaling = quickScaling({ drainTimeout: "'3s'", deadGrace: "'1s'", intentTimeout: "'5s'" });
    const clouds: string[] = [];
    for (const [cloud, { min, max }] of Object.entries(bounds)) {
      const queue = join(dir, `queue-${cloud}`);
      await writeFile(queue, '5\n');
      clouds.push(`${cloud}: {
      instances: { min: ${min}, max: ${max} },
      using: local({ firstAddress: '${randomLoopbackBase()}' }),
      metrics: { queue: { file: ${JSON.stringify(queue)}, every: '200ms' } },
      agent: ${agent},
      scaling: ${scaling},
    }`);
    }
    const config = `import { definePool, local } from 'poolparty';
export default definePool({
  name: '${name}',
  clouds: {
    ${clouds.join(',\n    ')},
  },
});
`;
    await writeFile(join(dir, 'clouds.ts'), config);
    const [first] = Object.keys(bounds);
    const remoter = createLocalRemoter({
      pool: await loadPool(join(dir, 'clouds.ts')),
      cloud: first as string,
      stateDir: join(dir, 'state'),
    });
    return new TwoCloudPool(name, dir, bounds, remoter);
  }

  get clouds(): string[] {
    return Object.keys(this.bounds);
  }

  cli(args: string[], timeoutMs = 150_000): Promise<CliRun> {
    const paths = ['-c', join(this.dir, 'clouds.ts'), '--state-dir', join(this.dir, 'state')];
    return runCli([CLI, ...args, ...paths], env, timeoutMs);
  }

  /**
   * `bootstrap --cloud` of each cloud in turn (a pool of several clouds is bootstrapped one cloud
   * at a time; each later one joins the first), then the sampler.
   */
  async bootstrapAll(timeoutS: number): Promise<void> {
    for (const cloud of this.clouds) {
      const boot = await this.cli(
        ['bootstrap', '--cloud', cloud, '--json', '--timeout', `${timeoutS}s`],
        (timeoutS + 30) * 1000,
      );
      if (boot.code !== 0) throw new Error(`bootstrap --cloud ${cloud} exited ${boot.code}: ${boot.stderr}`);
    }
    this.startSampler();
  }

  async setQueue(cloud: string, n: number): Promise<void> {
    await writeFile(join(this.dir, `queue-${cloud}`), `${n}\n`);
  }

  /** Every record the provider lists for the pool (terminated ones too), with its cloud. */
  async listAll(): Promise<CloudInstance[]> {
    const all = (await this.remoter.list({ pool: this.name })) as LocalInstanceRecord[];
    return all.map((i) => ({ ...i, cloud: i.tags[TAG_CLOUD] ?? '?' }));
  }

  /** Live (running or pending) instances of every cloud, or of one. */
  async live(cloud?: string): Promise<CloudInstance[]> {
    const all = await this.listAll();
    return all.filter((i) => (i.state === 'running' || i.state === 'pending') && (!cloud || i.cloud === cloud));
  }

  startSampler(): void {
    this.#sampling = true;
    this.#sampler = (async () => {
      while (this.#sampling) {
        const all = await this.listAll().catch(() => [] as CloudInstance[]);
        for (const cloud of this.clouds) {
          const n = all.filter((i) => i.cloud === cloud && (i.state === 'running' || i.state === 'pending')).length;
          this.maxSeen.set(cloud, Math.max(this.maxSeen.get(cloud) ?? 0, n));
        }
        for (const i of all) {
          const first = this.#launchOf.get(i.id);
          if (first === undefined) this.#launchOf.set(i.id, i.launchedAt);
          else if (first !== i.launchedAt) this.reused.add(i.id);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }

  async views(): Promise<Map<string, ClusterView | null>> {
    const live = await this.live();
    const views = await Promise.all(live.map((i) => json<ClusterView>(`${i.monitor}/cluster`).catch(() => null)));
    return new Map(live.map((i, n) => [i.id, views[n] ?? null]));
  }

  /** The leader every live agent names (its instance and cloud), or null while they disagree. */
  async agreedLeader(): Promise<{ instanceId: string; cloud: string } | null> {
    const views = [...(await this.views()).values()];
    const peers = new Set(views.map((v) => v?.leader?.peerId ?? null));
    const [peer] = [...peers];
    if (views.length === 0 || peers.size !== 1 || !peer) return null;
    const m = views[0]?.members.find((x) => x.peerId === peer);
    return m ? { instanceId: m.instanceId, cloud: m.cloud } : null;
  }

  /**
   * Every cloud within its bounds (or at exactly `want[cloud]`), nothing pending, and every live
   * agent seeing exactly the live instances of both clouds alive: healed.
   */
  async settled(want: Record<string, number> = {}): Promise<boolean> {
    const live = await this.live();
    if (live.some((i) => i.state !== 'running')) return false;
    for (const [cloud, { min, max }] of Object.entries(this.bounds)) {
      const n = live.filter((i) => i.cloud === cloud).length;
      if (want[cloud] !== undefined ? n !== want[cloud] : n < min || n > max) return false;
    }
    const ids = JSON.stringify(live.map((i) => i.id).sort());
    for (const v of (await this.views()).values()) {
      const alive = v?.members.filter((m) => m.state === 'alive').map((m) => m.instanceId) ?? [];
      if (JSON.stringify(alive.sort()) !== ids) return false;
    }
    return true;
  }

  /**
   * kill -9 of instance `id`'s agent process, returning once the provider no longer lists it live:
   * until then the pool may still look settled (nobody noticed yet), and a wait for the heal
   * would end at once.
   */
  async kill(id: string): Promise<void> {
    const pid = (await this.live()).find((i) => i.id === id)?.pid;
    if (!pid) throw new Error(`no live agent process for ${id}`);
    process.kill(pid, 'SIGKILL');
    await waitFor(`${id} no longer listed live after kill -9`, async () =>
      (await this.live()).every((i) => i.id !== id),
    );
  }

  /** afterAll: stops the sampler, terminates (best effort), kills what is left, removes the dir. */
  async cleanup(): Promise<void> {
    this.#sampling = false;
    await this.#sampler;
    await this.cli(['terminate', '--yes', '--json'], 90_000).catch(() => undefined);
    await killMatching(this.dir);
    await rm(this.dir, { recursive: true, force: true, maxRetries: 5 });
  }
}
