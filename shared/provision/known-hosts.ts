import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HostKeyMismatchError, UnknownHostKeyError } from './errors.ts';

/**
 * The pool's known_hosts file (`<stateDir>/known_hosts`), in OpenSSH's format so `ssh -o
 * UserKnownHostsFile=<stateDir>/known_hosts` can use it too: one `[host]:port type base64` line
 * per host (plain `host` on port 22). Trust on first use: an unknown host is recorded; a known
 * host with another key is refused unless the caller explicitly accepts the new key. Comments,
 * blank lines and entries we do not understand (hashed names, markers) are kept as they are.
 */

export type HostKeyStatus = 'known' | 'added' | 'replaced';

export interface HostKeyCheck {
  status: HostKeyStatus;
  /** 'SHA256:…' like `ssh-keygen -l`. */
  fingerprint: string;
  keyType: string;
  /** Set when status is 'replaced'. */
  previous?: string;
}

/** `SHA256:<base64 without padding>` of an SSH public key blob, as OpenSSH prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (its first length-prefixed string). */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return len > 0 && len < 64 && blob.length >= 4 + len ? blob.subarray(4, 4 + len).toString('ascii') : 'unknown';
}

/** The host pattern OpenSSH writes: bare on port 22, else `[host]:port`. */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

interface Entry {
  patterns: string[];
  type: string;
  key: string;
}

function parseLine(line: string): Entry | undefined {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('@') || trimmed.startsWith('|')) return undefined;
  const [hosts, type, key] = trimmed.split(/\s+/);
  if (!hosts || !type || !key) return undefined;
  return { patterns: hosts.split(','), type, key };
}

/** A hashed line (`|1|salt|hmac type key`) as an entry for `pattern` when the HMAC-SHA1 matches. */
function parseHashed(line: string, pattern: string): Entry | undefined {
  const [hosts, type, key] = line.trim().split(/\s+/);
  const [, magic, salt, hash] = hosts?.split('|') ?? [];
  if (magic !== '1' || !salt || !hash || !type || !key) return undefined;
  const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(pattern).digest('base64');
  return mac === hash ? { patterns: [pattern], type, key } : undefined;
}

/** What connectSsh asks about a host key: KnownHosts (trust on first use) or PinnedHostKeys. */
export interface HostKeyVerifier {
  /** Named in errors and progress. */
  readonly file: string;
  check(host: string, port: number, blob: Buffer, acceptNew?: boolean): Promise<HostKeyCheck>;
}

/**
 * Strict checking for machines without an operator (an agent pulling a bundle): the key must be
 * one already recorded in a known_hosts file or a pinned SHA256 fingerprint; nothing is added.
 */
export class PinnedHostKeys implements HostKeyVerifier {
  readonly file: string;
  constructor(private readonly opts: { knownHostsFile?: string; fingerprint?: string }) {
    this.file =
      [opts.knownHostsFile, opts.fingerprint ? 'the pinned hostKey' : undefined].filter(Boolean).join(' and ') ||
      '(no known_hosts file or pinned hostKey)';
  }

  async check(host: string, port: number, blob: Buffer): Promise<HostKeyCheck> {
    const got = fingerprint(blob);
    const allowed = [
      ...(this.opts.fingerprint ? [this.opts.fingerprint.replace(/=+$/, '')] : []),
      ...(this.opts.knownHostsFile ? await new KnownHosts(this.opts.knownHostsFile).lookup(host, port) : []),
    ];
    if (allowed.includes(got)) return { status: 'known', fingerprint: got, keyType: keyType(blob) };
    if (allowed.length === 0) {
      throw new UnknownHostKeyError(
        `host key ${got} of ${hostPattern(host, port)} is not in ${this.file}: refusing to trust an unknown host`,
      );
    }
    throw new HostKeyMismatchError(
      hostPattern(host, port),
      allowed.join(' or '),
      got,
      this.file,
      'If the machine was replaced, update the known_hosts file or hostKey; otherwise this may be an attack.',
    );
  }
}

/** Per-file queue: concurrent checks in one process (parallel provisioning) must not lose lines. */
const queues = new Map<string, Promise<unknown>>();

export class KnownHosts implements HostKeyVerifier {
  constructor(readonly file: string) {}

  /**
   * Checks `blob` for host:port, recording it on first use. A different key throws
   * HostKeyMismatchError unless `acceptNew`, which replaces every entry of that host:port.
   */
  check(host: string, port: number, blob: Buffer, acceptNew = false): Promise<HostKeyCheck> {
    const run = async (): Promise<HostKeyCheck> => {
      const pattern = hostPattern(host, port);
      const type = keyType(blob);
      const key = blob.toString('base64');
      const got = fingerprint(blob);
      const lines = await this.readLines();
      const mine = lines.map(parseLine).filter((e): e is Entry => e?.patterns.includes(pattern) === true);
      if (mine.some((e) => e.type === type && e.key === key))
        return { status: 'known', fingerprint: got, keyType: type };
      const ours = `${pattern} ${type} ${key}`;
      if (mine.length === 0) {
        await this.write([...lines, ours]);
        return { status: 'added', fingerprint: got, keyType: type };
      }
      const expected = mine.map((e) => fingerprintOf(e.key)).join(' or ');
      if (!acceptNew) throw new HostKeyMismatchError(pattern, expected, got, this.file);
      const kept = lines.filter((l) => parseLine(l)?.patterns.includes(pattern) !== true);
      await this.write([...kept, ours]);
      return { status: 'replaced', fingerprint: got, keyType: type, previous: expected };
    };
    return this.serial(run);
  }

  /**
   * Drops every plain entry of host:port (a terminated machine whose name will not come back,
   * such as an EC2 instance id); resolves with how many lines went.
   */
  forget(host: string, port: number): Promise<number> {
    return this.serial(async () => {
      const pattern = hostPattern(host, port);
      const lines = await this.readLines();
      const kept = lines.filter((l) => parseLine(l)?.patterns.includes(pattern) !== true);
      if (kept.length !== lines.length) await this.write(kept);
      return lines.length - kept.length;
    });
  }

  private serial<T>(run: () => Promise<T>): Promise<T> {
    const prev = queues.get(this.file) ?? Promise.resolve();
    const next = prev.then(run, run);
    queues.set(
      this.file,
      next.catch(() => undefined),
    );
    return next;
  }

  /**
   * The recorded fingerprints of host:port (empty when unknown). Hashed entries count too: a file
   * copied from ~/.ssh/known_hosts usually has them (HashKnownHosts).
   */
  async lookup(host: string, port: number): Promise<string[]> {
    const pattern = hostPattern(host, port);
    return (await this.readLines())
      .map((l) => parseLine(l) ?? parseHashed(l, pattern))
      .filter((e): e is Entry => e?.patterns.includes(pattern) === true)
      .map((e) => fingerprintOf(e.key));
  }

  private async readLines(): Promise<string[]> {
    try {
      return (await readFile(this.file, 'utf8')).split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Atomic (temp file + rename): a crash never leaves a half-written trust store. */
  private async write(lines: string[]): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, `${lines.filter((l) => l.trim() !== '' || l.startsWith('#')).join('\n')}\n`, { mode: 0o600 });
    await rename(tmp, this.file);
  }
}

function fingerprintOf(base64: string): string {
  return fingerprint(Buffer.from(base64, 'base64'));
}
