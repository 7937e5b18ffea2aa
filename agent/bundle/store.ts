import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class BundleStoreError extends Error {
  override name = 'BundleStoreError';
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Bundles cached by hash in the agent's data dir: `bundles/<sha256>.tar.gz`. Nothing enters the
 * cache without its hash verified, so a cached bundle can be served to peers as it is.
 */
export class BundleStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'bundles');
  }

  archivePath(sha: string): string {
    return join(this.dir, `${check(sha)}.tar.gz`);
  }

  /** Where the bundle is unpacked for applying. */
  unpackedPath(sha: string): string {
    return join(this.dir, check(sha));
  }

  async read(sha: string): Promise<Buffer | null> {
    try {
      return await readFile(this.archivePath(sha));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async has(sha: string): Promise<boolean> {
    return (await this.read(sha)) !== null;
  }

  /** Stores bytes under their hash after checking it matches `sha`. */
  async put(sha: string, bytes: Buffer): Promise<void> {
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== check(sha)) throw new BundleStoreError(`bundle sha256 is ${actual}, expected ${sha}`);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.archivePath(sha)}.${process.pid}.tmp`;
    await writeFile(tmp, bytes, { mode: 0o600 });
    await rename(tmp, this.archivePath(sha));
  }

  /** The hash of the last bundle applied successfully (survives restarts), or null. */
  async applied(): Promise<string | null> {
    try {
      const sha = (await readFile(join(this.dir, 'applied'), 'utf8')).trim();
      return SHA256.test(sha) ? sha : null;
    } catch {
      return null;
    }
  }

  async setApplied(sha: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(join(this.dir, 'applied'), `${check(sha)}\n`);
  }
}

function check(sha: string): string {
  if (!SHA256.test(sha)) throw new BundleStoreError(`not a sha256 hex digest: ${JSON.stringify(sha.slice(0, 80))}`);
  return sha;
}
