import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InstanceState } from './types.ts';
import { RemoterError } from './types.ts';

/**
 * The local provider's state: `<stateDir>/local/instances.json`, written atomically (temp file +
 * rename) under a lock file, because the CLI and a leader agent may both launch and terminate.
 */

export interface LocalInstance {
  /** 'local-N', unique within the pool's state dir. */
  id: string;
  pool: string;
  cloud: string;
  state: InstanceState;
  address: string;
  p2pPort: number;
  monitorPort: number;
  pid: number;
  peerId: string;
  /** Epoch ms. */
  launchedAt: number;
  terminatedAt?: number;
  clientToken: string;
  /** Shared by the instances started by one launch call. */
  launchId: string;
  tags: Record<string, string>;
  monitor: string;
  /** The agent's config; its path is also the marker that identifies the process in /proc. */
  configFile: string;
  logFile: string;
}

export interface LocalState {
  version: 1;
  /** N of the next 'local-N'; never reused, so a log or event names one instance forever. */
  nextIndex: number;
  instances: LocalInstance[];
}

export interface StoreOptions {
  /** Give up acquiring the lock after this long (ms). */
  lockTimeout: number;
  /** Retry interval while the lock is held by another live process (ms). */
  lockPoll: number;
  /** A lock file with no readable pid older than this is stale (ms): its writer died mid-write. */
  lockStaleAfter: number;
}

const EMPTY: LocalState = { version: 1, nextIndex: 1, instances: [] };

export class LocalStateStore {
  readonly file: string;
  private readonly lockFile: string;

  constructor(
    readonly dir: string,
    private readonly opts: StoreOptions,
  ) {
    this.file = join(dir, 'instances.json');
    this.lockFile = join(dir, 'instances.lock');
  }

  /** The current state without locking: renames are atomic, so a read sees a whole file. */
  async read(): Promise<LocalState> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return structuredClone(EMPTY);
      throw new RemoterError(`cannot read ${this.file}: ${(err as Error).message}`);
    }
    try {
      const state = JSON.parse(text) as LocalState;
      if (state.version !== 1 || !Array.isArray(state.instances)) throw new Error('unknown format');
      return state;
    } catch (err) {
      throw new RemoterError(`${this.file} is corrupt: ${(err as Error).message}`);
    }
  }

  /** Runs `fn` on the state under the lock and writes what it leaves in the state. */
  async update<T>(fn: (state: LocalState) => Promise<T> | T): Promise<T> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const release = await this.lock();
    try {
      const state = await this.read();
      const result = await fn(state);
      await this.write(state);
      return result;
    } finally {
      await release();
    }
  }

  private async write(state: LocalState): Promise<void> {
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, this.file);
  }

  private async lock(): Promise<() => Promise<void>> {
    const deadline = Date.now() + this.opts.lockTimeout;
    for (;;) {
      try {
        const handle = await open(this.lockFile, 'wx', 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        return () => unlink(this.lockFile).catch(() => {});
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new RemoterError(`cannot create lock ${this.lockFile}: ${(err as Error).message}`);
        }
      }
      if (await this.isStale()) await this.breakLock();
      else if (Date.now() >= deadline) {
        throw new RemoterError(
          `${this.lockFile} is held by another process (gave up after ${this.opts.lockTimeout}ms)`,
        );
      } else await sleep(this.opts.lockPoll);
    }
  }

  private async isStale(): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(this.lockFile, 'utf8');
    } catch {
      return false; // released meanwhile: just retry
    }
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 0) {
      try {
        return Date.now() - (await stat(this.lockFile)).mtimeMs > this.opts.lockStaleAfter;
      } catch {
        return false;
      }
    }
    return !pidAlive(pid);
  }

  /**
   * Renaming is atomic: of several processes breaking the same stale lock, one wins. If what we
   * moved aside turns out to be a fresh lock (another process broke the stale one and locked in
   * between), it is put back with link(), which fails rather than overwrite a newer lock.
   */
  private async breakLock(): Promise<void> {
    const aside = `${this.lockFile}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      await rename(this.lockFile, aside);
    } catch {
      return; // someone else broke (or released) it first
    }
    const pid = Number((await readFile(aside, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) await link(aside, this.lockFile).catch(() => {});
    await unlink(aside).catch(() => {});
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
