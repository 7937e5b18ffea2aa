import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  BundleFormatError,
  BundleHashMismatchError,
  BundleTargetExistsError,
  BundleTooLargeError,
  UnsafeArchiveError,
} from './errors.ts';
import { readTar, type TarEntry } from './tar.ts';

/**
 * Safe unpacking, in an order that makes every failure leave the target untouched:
 * hash first (nothing is parsed before the bytes are known to be the expected ones), then the
 * whole archive is parsed and every entry checked, then it is written into a fresh sibling temp
 * directory and renamed into place. Rejected: absolute paths, '..', symlinks leaving the target
 * or with entries beneath them, hard links, devices/fifos, duplicates, set-id bits.
 */

export const UNPACK_DEFAULTS = { maxBytes: 256 * 1024 * 1024, maxEntries: 20_000 } as const;

export interface UnpackOptions {
  /** Uncompressed size limit (bytes). Default 256 MiB. */
  maxBytes?: number;
  /** Entry count limit. Default 20000. */
  maxEntries?: number;
}

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
  const maxBytes = opts.maxBytes ?? UNPACK_DEFAULTS.maxBytes;
  let tar: Buffer;
  try {
    tar = gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new BundleTooLargeError(`bundle unpacks to more than ${maxBytes} bytes`);
    throw new BundleFormatError(`not a gzip archive: ${(err as Error).message}`);
  }
  const entries = checkEntries(readTar(tar), opts.maxEntries ?? UNPACK_DEFAULTS.maxEntries);
  if (await exists(targetDir)) throw new BundleTargetExistsError(`${targetDir} already exists`);

  await mkdir(dirname(targetDir), { recursive: true });
  const tmp = await mkdtemp(join(dirname(targetDir), `.${basename(targetDir)}.unpack-`));
  try {
    for (const e of entries) {
      const abs = join(tmp, e.path);
      if (e.type === 'directory') {
        await mkdir(abs, { recursive: true, mode: 0o700 });
        continue;
      }
      await mkdir(dirname(abs), { recursive: true, mode: 0o700 });
      // 'wx': never write through something already there (a link planted by an earlier entry).
      if (e.type === 'file') await writeFile(abs, e.data ?? Buffer.alloc(0), { flag: 'wx', mode: e.mode & 0o777 });
      else await symlink(e.linkname as string, abs);
    }
    // Modes last and deepest first, so a read-only directory does not block writing its children.
    for (const e of [...entries].reverse()) {
      if (e.type === 'directory') await chmod(join(tmp, e.path), e.mode & 0o777);
    }
    await rename(tmp, targetDir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return { dir: targetDir, entries: entries.length, bytes: tar.length };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Validates every entry before anything is written; returns them with normalised paths. */
export function checkEntries(raw: readonly TarEntry[], maxEntries: number): TarEntry[] {
  if (raw.length > maxEntries) throw new BundleTooLargeError(`bundle has more than ${maxEntries} entries`);
  const out: TarEntry[] = [];
  const paths = new Set<string>();
  const links = new Set<string>();
  const files = new Set<string>();
  for (const e of raw) {
    const path = safePath(e.path);
    if (path === '') {
      if (e.type === 'directory') continue; // './' itself
      throw new UnsafeArchiveError(`entry with an empty path`);
    }
    if (paths.has(path)) throw new UnsafeArchiveError(`${path}: appears twice`);
    paths.add(path);
    if (e.type === 'hardlink') throw new UnsafeArchiveError(`${path}: hard links are not allowed`);
    if (e.type === 'other')
      throw new UnsafeArchiveError(`${path}: entry type '${e.typeflag ?? '?'}' (device, fifo, …) is not allowed`);
    if (e.type === 'symlink') {
      const target = e.linkname ?? '';
      const resolved = posix.normalize(posix.join(posix.dirname(path), target));
      if (target === '' || target.startsWith('/') || resolved === '..' || resolved.startsWith('../'))
        throw new UnsafeArchiveError(`${path}: link to ${JSON.stringify(target)} escapes the bundle`);
      links.add(path);
    }
    if (e.type === 'file') files.add(path);
    out.push({ ...e, path, mode: e.mode & 0o777 });
  }
  // Nothing may live beneath a symlink: writing it would follow the link wherever it points.
  for (const path of paths) {
    for (let d = posix.dirname(path); d !== '.'; d = posix.dirname(d)) {
      if (links.has(d)) throw new UnsafeArchiveError(`${path}: lies beneath the link ${d}`);
      if (files.has(d)) throw new UnsafeArchiveError(`${path}: lies beneath the file ${d}`);
    }
  }
  return out;
}

function safePath(raw: string): string {
  if (raw.includes('\0')) throw new UnsafeArchiveError(`${JSON.stringify(raw)}: NUL in path`);
  if (raw.startsWith('/')) throw new UnsafeArchiveError(`${raw}: absolute path`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafeArchiveError(`${raw}: '..' in path`);
  return parts.join('/');
}
