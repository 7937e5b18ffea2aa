import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processRuns } from './pid.ts';
import { RemoterError } from './types.ts';

/**
 * A JSON state file shared by processes (the CLI, a leader agent, a second CLI): reads see a whole
 * file (temp file + rename), updates run under a lock file holding the writer's pid. Every write is
 * durable before it is visible (the temp file and then its directory are fsync'd), so a record
 * written ahead of an action survives a crash of the machine, not only of the writer. The same
 * protocol for every provider's records (local instances, ssh hosts), generic over the state's shape; a lock whose
 * pid is gone (or, without a pid, older than lockStaleAfter) is broken.
 */

export interface JsonStoreOptions<T> {
  file: string;
  /** The state when the file does not exist yet (a fresh copy each time). */
  empty: () => T;
  /** Throws (any error) when a parsed file is not a T. */
  check: (value: unknown) => asserts value is T;
  /** Give up acquiring the lock after this long (ms). */
  lockTimeout: number;
  /** Retry interval while the lock is held by another live process (ms). */
  lockPoll: number;
  /** A lock file with no readable pid older than this is stale (ms). */
  lockStaleAfter: number;
}

export class JsonStore<T> {
  readonly file: string;
  readonly lockFile: string;

  constructor(private readonly opts: JsonStoreOptions<T>) {
    this.file = opts.file;
    this.lockFile = `${opts.file.replace(/\.json$/, '')}.lock`;
  }

  async read(): Promise<T> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.opts.empty();
      throw new RemoterError(`cannot read ${this.file}: ${(err as Error).message}`);
    }
    try {
      const value: unknown = JSON.parse(text);
      this.opts.check(value);
      return value;
    } catch (err) {
      throw new RemoterError(`${this.file} is corrupt: ${(err as Error).message}`);
    }
  }

  /**
   * Runs `fn` on the state under the lock and writes what it leaves there; nothing more is written
   * if it throws. `commit` writes the state as it is now, still under the lock: a write-ahead record
   * is committed before the action it announces, and the outcome after it.
   */
  async update<R>(fn: (state: T, commit: () => Promise<void>) => Promise<R> | R): Promise<R> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const release = await this.lock();
    try {
      const state = await this.read();
      const result = await fn(state, () => this.write(state));
      await this.write(state);
      return result;
    } finally {
      await release();
    }
  }

  private async write(state: T): Promise<void> {
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.file);
    await syncDir(dirname(this.file));
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
      return false; // released meanwhile: retry
    }
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 0) {
      try {
        return Date.now() - (await stat(this.lockFile)).mtimeMs > this.opts.lockStaleAfter;
      } catch {
        return false;
      }
    }
    return !processRuns(pid);
  }

  /** Atomic rename decides between concurrent breakers; a fresh lock moved aside is put back with link(). */
  private async breakLock(): Promise<void> {
    const aside = `${this.lockFile}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      await rename(this.lockFile, aside);
    } catch {
      return;
    }
    const pid = Number((await readFile(aside, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && processRuns(pid)) await link(aside, this.lockFile).catch(() => {});
    await unlink(aside).catch(() => {});
  }
}

/** Makes a rename in `dir` durable. Some platforms cannot open or sync a directory: best effort there. */
async function syncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EPERM/EINVAL on platforms without directory fsync
  } finally {
    await handle?.close().catch(() => {});
  }
}
