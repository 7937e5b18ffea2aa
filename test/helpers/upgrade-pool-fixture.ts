import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildArtifact } from '../../scripts/build-artifact.mjs';
import type { InstanceRecord } from '../../shared/remoter/types.ts';
import { LocalPool } from '../fixtures/local-pool.ts';

export interface UpgradePoolOptions {
  /** The pool's name (also in its temp dir's name). */
  name: string;
  /** The cloud's bounds; bootstrap launches `min` agents. */
  min: number;
  max: number;
  /** More fields of the cloud's definition, as clouds.ts source text (agent tunables, metrics, scaling). */
  cloudFields?: string;
}

/**
 * A real local pool bootstrapped by the CLI, with the single-file agent built into its temp dir
 * (`built`) for the test to derive artifacts from. stop() terminates the pool and removes every
 * process and file it started, also when the test failed half way.
 */
export class UpgradePoolFixture {
  private constructor(
    readonly pool: LocalPool,
    /** The built single-file agent (`npm run build`'s artifact). */
    readonly built: string,
    /** The monitor URL of each agent bootstrap started, in its order. */
    readonly monitors: string[],
  ) {}

  static async start(o: UpgradePoolOptions): Promise<UpgradePoolFixture> {
    const pool = await LocalPool.create({
      name: o.name,
      agent: 'real',
      cliTimeoutMs: 600_000,
      ...(o.cloudFields ? { cloudFields: o.cloudFields } : {}),
    });
    try {
      const source = await readFile(pool.config, 'utf8');
      await writeFile(pool.config, source.replace('min: 3, max: 5', `min: ${o.min}, max: ${o.max}`));
      const built = await buildArtifact({ outdir: join(pool.dir, 'art') });
      const boot = await pool.cli('bootstrap', '-c', pool.config, '--json');
      if (boot.code !== 0) throw new Error(`bootstrap exited ${boot.code}: ${boot.stderr}`);
      const monitors = (JSON.parse(boot.stdout) as { instances: InstanceRecord[] }).instances.map(
        (i) => i.monitor as string,
      );
      if (monitors.length !== o.min) throw new Error(`bootstrap started ${monitors.length} agents, not ${o.min}`);
      return new UpgradePoolFixture(pool, built.file, monitors);
    } catch (err) {
      await pool.cleanup();
      throw err;
    }
  }

  /**
   * Writes an artifact `<dir>/<name>/poolparty-agent.mjs` with the version file beside it that
   * `poolparty upgrade` signs (`version`, when given) and returns its path. `bytes` default: the
   * built agent with a comment added, a rebuild told apart from it by its hash.
   */
  async artifact(name: string, o: { version?: string; bytes?: Buffer | string } = {}): Promise<string> {
    const dir = join(this.pool.dir, name);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'poolparty-agent.mjs');
    const bytes = o.bytes ?? Buffer.concat([await readFile(this.built), Buffer.from(`\n// ${name} rebuild\n`)]);
    await writeFile(file, bytes);
    if (o.version) await writeFile(join(dir, 'poolparty-agent.json'), JSON.stringify({ version: o.version }));
    return file;
  }

  /** Runs the CLI against this pool to completion. */
  cli(...args: string[]) {
    return this.pool.cli(...args);
  }

  async stop(): Promise<void> {
    await this.pool.cli('terminate', '-c', this.pool.config, '--yes').catch(() => undefined);
    await this.pool.cleanup();
  }
}
