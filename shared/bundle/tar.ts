import { BundleFormatError } from './errors.ts';

/**
 * A minimal ustar writer and reader. Written here rather than shelling out to tar because the
 * bundle's hash is its identity: every header field (mtime 0, uid/gid 0, no user names, fixed
 * modes, sorted entries) is decided by this file, not by a platform's tar.
 *
 * The reader is deliberately more permissive than the writer (pax and GNU long names, every
 * type flag) so unpack.ts can see — and reject — whatever a hostile archive holds.
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

/** Parses a whole tar; a truncated or corrupt archive is a BundleFormatError. */
export function readTar(tar: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let offset = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const h = tar.subarray(offset, offset + BLOCK);
    if (h.every((b) => b === 0)) return out;
    checkSum(h, offset);
    const size = parseOctal(h, 124, 12, offset);
    const typeflag = String.fromCharCode(h[156] as number);
    const dataStart = offset + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > tar.length) throw new BundleFormatError(`truncated archive (entry at byte ${offset})`);
    const data = tar.subarray(dataStart, dataEnd);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'x') {
      pax = parsePax(data);
      continue;
    }
    if (typeflag === 'g') continue;
    if (typeflag === 'L' || typeflag === 'K') {
      const value = cstring(data, 0, data.length);
      if (typeflag === 'L') longName = value;
      else longLink = value;
      continue;
    }
    const prefix = cstring(h, 345, 155);
    const rawName = cstring(h, 0, 100);
    const path = pax.path ?? longName ?? (prefix ? `${prefix}/${rawName}` : rawName);
    const linkname = pax.linkpath ?? longLink ?? cstring(h, 157, 100);
    pax = {};
    longName = undefined;
    longLink = undefined;
    const mode = parseOctal(h, 100, 8, offset);
    const type: TarEntryType =
      typeflag === '0' || typeflag === '\0' || typeflag === '7'
        ? path.endsWith('/')
          ? 'directory'
          : 'file'
        : typeflag === '5'
          ? 'directory'
          : typeflag === '2'
            ? 'symlink'
            : typeflag === '1'
              ? 'hardlink'
              : 'other';
    const entry: TarEntry = { path: path.replace(/\/+$/, ''), type, mode, typeflag };
    if (type === 'file') entry.data = Buffer.from(data);
    if (type === 'symlink' || type === 'hardlink') entry.linkname = linkname;
    out.push(entry);
  }
  throw new BundleFormatError('truncated archive (no end-of-archive marker)');
}

function checkSum(h: Buffer, at: number): void {
  const stored = parseOctal(h, 148, 8, at);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] as number);
  if (sum !== stored) throw new BundleFormatError(`bad header checksum at byte ${at}`);
}

function parseOctal(h: Buffer, offset: number, length: number, at: number): number {
  const text = cstring(h, offset, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new BundleFormatError(`bad numeric field at byte ${at + offset}`);
  return Number.parseInt(text, 8);
}

function cstring(b: Buffer, offset: number, length: number): string {
  const slice = b.subarray(offset, offset + length);
  const end = slice.indexOf(0);
  return slice.subarray(0, end === -1 ? slice.length : end).toString('utf8');
}

/** pax records: "<len> <key>=<value>\n". */
function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    const len = Number.parseInt(data.subarray(i, space).toString('latin1'), 10);
    if (space === -1 || !Number.isInteger(len) || len <= 0 || i + len > data.length)
      throw new BundleFormatError('bad pax header');
    const record = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return out;
}
