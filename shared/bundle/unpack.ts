import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, open, rename, rm, stat, symlink } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { BundleHashMismatchError, BundleTargetExistsError, BundleTooLargeError, UnsafeArchiveError } from './errors.ts';
import { readTarGz, type TarHeader } from './tar-read.ts';

/**
 * Safe unpacking, in an order that makes every failure leave the target untouched:
 * hash first (nothing is parsed before the bytes are known to be the expected ones), then the
 * archive streams (tar-read.ts) into a fresh sibling temp directory, each entry checked before it
 * is written, and the directory is renamed into place only once the whole archive has passed; on
 * any failure the temp directory goes. Rejected: absolute paths, '..', symlinks leaving the
 * target or with entries beneath them, hard links, devices/fifos, duplicates, set-id bits, more
 * than `maxBytes` inflated or `maxEntries` entries.
 */

/**
 * The archive limits. Not configuration (nothing sets them but tests) and deliberately not a zod
 * schema: every agent unpacks bundles, and importing zod here kept it in each agent's heap
 * (test/agent-footprint.test.ts). test/config-sources.test.ts lists this table as exempt, why.
 */
export const UNPACK_DEFAULTS: Readonly<{ maxBytes: number; maxEntries: number }> = Object.freeze({
  /** Uncompressed size limit (bytes). Default 268435456 (256 MiB). */
  maxBytes: 256 * 1024 * 1024,
  /** Entry count limit (count). Default 20000. */
  maxEntries: 20_000,
});

/** Any of the limits; an unset one keeps its default. */
export type UnpackOptions = Partial<typeof UNPACK_DEFAULTS>;

export interface UnpackResult {
  dir: string;
  entries: number;
  bytes: number;
}

export async function unpackBundle(
  bytes: Buffer,
  expectedSha256: string,
  targetDir: string,
  opts: UnpackOptions = {},
): Promise<UnpackResult> {
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== expectedSha256.toLowerCase())
    throw new BundleHashMismatchError(`bundle sha256 is ${actual}, expected ${expectedSha256}`);
  if (await exists(targetDir)) throw new BundleTargetExistsError(`${targetDir} already exists`);

  await mkdir(dirname(targetDir), { recursive: true });
  const tmp = await mkdtemp(join(dirname(targetDir), `.${basename(targetDir)}.unpack-`));
  const checker = new EntryChecker(opts.maxEntries ?? UNPACK_DEFAULTS.maxEntries);
  const directories: TarHeader[] = [];
  try {
    const inflated = await readTarGz(bytes, opts.maxBytes ?? UNPACK_DEFAULTS.maxBytes, async (raw, content) => {
      const e = checker.check(raw);
      if (e === undefined) return;
      const abs = join(tmp, e.path);
      if (e.type === 'directory') {
        await mkdir(abs, { recursive: true, mode: 0o700 });
        directories.push(e);
        return;
      }
      await mkdir(dirname(abs), { recursive: true, mode: 0o700 });
      if (e.type === 'symlink') {
        await symlink(e.linkname as string, abs);
        return;
      }
      // 'wx': never write through something already there (a link planted by an earlier entry).
      const file = await open(abs, 'wx', e.mode);
      try {
        for await (const chunk of content) await file.write(chunk);
      } finally {
        await file.close();
      }
    });
    // Modes last and deepest first, so a read-only directory does not block writing its children.
    for (const d of directories.reverse()) await chmod(join(tmp, d.path), d.mode);
    await rename(tmp, targetDir);
    return { dir: targetDir, entries: checker.entries, bytes: inflated };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks entries one at a time, as the archive streams, each before anything of it is written:
 * no more than `maxEntries`, safe paths, no duplicates, no hard links or devices, links that stay
 * inside, and nothing beneath a link or a file — whichever of the two comes first in the archive.
 */
export class EntryChecker {
  /** Entries seen so far (the archive's own count, './' included). */
  entries = 0;
  readonly #maxEntries: number;
  readonly #paths = new Set<string>();
  readonly #links = new Set<string>();
  readonly #files = new Set<string>();
  /** Every directory some entry lies beneath, with the first such entry. */
  readonly #beneath = new Map<string, string>();

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  /** The entry with its normalised path and mode, or undefined for the archive root itself. */
  check(e: TarHeader): TarHeader | undefined {
    if (++this.entries > this.#maxEntries)
      throw new BundleTooLargeError(`bundle has more than ${this.#maxEntries} entries`);
    const path = safePath(e.path);
    if (path === '') {
      if (e.type === 'directory') return undefined; // './' itself
      throw new UnsafeArchiveError(`entry with an empty path`);
    }
    if (this.#paths.has(path)) throw new UnsafeArchiveError(`${path}: appears twice`);
    this.#paths.add(path);
    if (e.type === 'hardlink') throw new UnsafeArchiveError(`${path}: hard links are not allowed`);
    if (e.type === 'other')
      throw new UnsafeArchiveError(`${path}: entry type '${e.typeflag ?? '?'}' (device, fifo, …) is not allowed`);
    if (e.type === 'symlink') {
      const target = e.linkname ?? '';
      const resolved = posix.normalize(posix.join(posix.dirname(path), target));
      if (target === '' || target.startsWith('/') || resolved === '..' || resolved.startsWith('../'))
        throw new UnsafeArchiveError(`${path}: link to ${JSON.stringify(target)} escapes the bundle`);
    }
    // Nothing may live beneath a symlink: writing it would follow the link wherever it points.
    for (let d = posix.dirname(path); d !== '.'; d = posix.dirname(d)) {
      if (this.#links.has(d)) throw new UnsafeArchiveError(`${path}: lies beneath the link ${d}`);
      if (this.#files.has(d)) throw new UnsafeArchiveError(`${path}: lies beneath the file ${d}`);
      if (!this.#beneath.has(d)) this.#beneath.set(d, path);
    }
    if (e.type === 'symlink' || e.type === 'file') {
      const under = this.#beneath.get(path);
      if (under !== undefined)
        throw new UnsafeArchiveError(`${under}: lies beneath the ${e.type === 'symlink' ? 'link' : 'file'} ${path}`);
      (e.type === 'symlink' ? this.#links : this.#files).add(path);
    }
    return { ...e, path, mode: e.mode & 0o777 };
  }
}

function safePath(raw: string): string {
  if (raw.includes('\0')) throw new UnsafeArchiveError(`${JSON.stringify(raw)}: NUL in path`);
  if (raw.startsWith('/')) throw new UnsafeArchiveError(`${raw}: absolute path`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafeArchiveError(`${raw}: '..' in path`);
  return parts.join('/');
}
