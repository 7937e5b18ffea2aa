import { BundleFormatError } from './errors.ts';

/**
 * A minimal ustar writer. The bundle's hash is its identity, so every header byte (mtime 0,
 * uid/gid 0, no user names, fixed modes, NUL-terminated octal fields, sorted entries) is decided
 * by this file — not by a platform's tar, and not by a library: tar-stream's pack() encodes the
 * same entry with space-terminated numbers and filled device fields, so adopting it would rename
 * every existing bundle, and its byte layout is no documented contract a later release must keep.
 * Reading is tar-stream's (tar-read.ts), which also understands what this writer never emits.
 */

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** Relative path; directories without a trailing '/'. */
  path: string;
  type: TarEntryType;
  mode: number;
  /** File content (files only). */
  data?: Buffer;
  /** Link target (symlink / hardlink). */
  linkname?: string;
  /** The raw type flag, for error messages about 'other' entries. */
  typeflag?: string;
}

const BLOCK = 512;

const TYPEFLAG: Record<Exclude<TarEntryType, 'other'>, string> = {
  file: '0',
  directory: '5',
  symlink: '2',
  hardlink: '1',
};

/** Serialises entries in the order given (callers sort); no validation of names beyond fitting. */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    const name = e.type === 'directory' ? `${e.path}/` : e.path;
    parts.push(header(name, e, data.length));
    if (data.length > 0) {
      parts.push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

function header(name: string, e: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const [prefix, base] = splitName(name);
  h.write(base, 0, 100, 'utf8');
  octal(h, 100, 8, e.mode & 0o7777);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0);
  h.write(e.type === 'other' ? (e.typeflag ?? '0') : TYPEFLAG[e.type], 156, 1, 'latin1');
  if (e.linkname !== undefined) {
    if (Buffer.byteLength(e.linkname) > 100) throw new BundleFormatError(`${name}: link target longer than 100 bytes`);
    h.write(e.linkname, 157, 100, 'utf8');
  }
  h.write('ustar\u000000', 257, 8, 'latin1');
  h.write(prefix, 345, 155, 'utf8');
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return h;
}

/** ustar names: up to 100 bytes, or a prefix (≤155) and a name (≤100) split at a '/'. */
function splitName(name: string): [string, string] {
  if (Buffer.byteLength(name) <= 100) return ['', name];
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return [prefix, rest];
  }
  throw new BundleFormatError(`${name}: path too long for the bundle format`);
}

function octal(h: Buffer, offset: number, length: number, value: number): void {
  h.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'latin1');
}
