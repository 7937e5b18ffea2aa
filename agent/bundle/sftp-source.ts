import { createHash } from 'node:crypto';
import { formatDuration } from '../../shared/duration.ts';
import { connectSsh, type SshSession } from '../../shared/provision/connect.ts';
import { PinnedHostKeys } from '../../shared/provision/known-hosts.ts';
import type { AgentBundleConfig } from '../../shared/wire/agent-config.ts';

export type SftpBundleSource = NonNullable<AgentBundleConfig['sftp']>;

/** Why a pull failed, for logs and for callers that treat some failures differently. */
export type BundleSourceFailure =
  | 'host-key' // unknown or changed host key: retrying will not help until the config changes
  | 'auth' // the user key was rejected or cannot be read
  | 'unreachable' // nothing answered SSH
  | 'missing' // no <dir>/<sha256>.tar.gz on the host
  | 'too-large' // larger than maxBytes (before or while reading)
  | 'hash-mismatch' // the bytes read are not the bundle asked for
  | 'timeout'
  | 'aborted'
  | 'failed'; // anything else (SFTP unavailable, I/O error, bad sha argument)

/** Every failure of a pull; one line naming the host and the file. */
export class BundleSourceError extends Error {
  override name = 'BundleSourceError';
  constructor(
    message: string,
    readonly reason: BundleSourceFailure,
  ) {
    super(message);
  }
}

export interface SftpPullOptions {
  /** The whole pull: connect, read, verify (ms). Default 60 000. */
  timeoutMs?: number;
  /** Aborts the pull (agent stopping); the connection is closed as on a timeout. */
  signal?: AbortSignal;
}

const SHA256 = /^[0-9a-f]{64}$/;
/** One try at connecting per pull, at most this long: the bundle manager retries with backoff. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Pulls `<dir>/<sha>.tar.gz` from an SSH host over SFTP. The host key must already be known
 * (known_hosts file or pinned fingerprint): an agent has no operator to confirm a new one, and a
 * refused key ends the handshake before authentication, so nothing is transferred. The size is
 * checked before and while reading, and the bytes are returned only when their sha256 is `sha`.
 * The connection is closed before this settles, whatever the outcome.
 */
export async function pullOverSftp(
  src: SftpBundleSource,
  sha: string,
  maxBytes: number,
  opts: SftpPullOptions = {},
): Promise<Buffer> {
  const where = `${src.user}@${src.host}:${src.port}`;
  if (!SHA256.test(sha)) {
    throw new BundleSourceError(`${where}: not a sha256 hex digest: ${JSON.stringify(sha.slice(0, 80))}`, 'failed');
  }
  const file = `${src.dir.replace(/\/+$/, '')}/${sha}.tar.gz`;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const { signal } = opts;
  if (signal?.aborted) throw new BundleSourceError(`${where}: pulling ${file} aborted`, 'aborted');

  let session: SshSession | undefined;
  let settled = false;
  const pull = async (): Promise<Buffer> => {
    let s: SshSession;
    try {
      s = await connectSsh({
        host: src.host,
        port: src.port,
        user: src.user,
        keyFile: src.keyFile,
        knownHosts: new PinnedHostKeys({
          ...(src.knownHostsFile ? { knownHostsFile: src.knownHostsFile } : {}),
          ...(src.hostKey ? { fingerprint: src.hostKey } : {}),
        }),
        timeouts: {
          waitTimeout: Math.min(CONNECT_TIMEOUT_MS, timeoutMs),
          attemptTimeout: Math.min(CONNECT_TIMEOUT_MS, timeoutMs),
        },
      });
    } catch (err) {
      throw new BundleSourceError(`${where}: cannot pull ${file}: ${(err as Error).message}`, connectFailure(err));
    }
    if (settled) {
      // The caller has gone (timeout, abort) while connecting: this connection is not wanted.
      void s.close();
      throw new BundleSourceError(`${where}: connected after the pull of ${file} ended`, 'failed');
    }
    session = s;
    let bytes: Buffer;
    try {
      bytes = await s.readFile(file, maxBytes);
    } catch (err) {
      const reason = (err as { reason?: string }).reason;
      const known = reason === 'missing' || reason === 'too-large';
      throw new BundleSourceError((err as Error).message, known ? reason : 'failed');
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha) {
      throw new BundleSourceError(`${where}: ${file} has sha256 ${actual}: refusing it`, 'hash-mismatch');
    }
    return bytes;
  };

  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new BundleSourceError(`${where}: pulling ${file} timed out after ${formatDuration(timeoutMs)}`, 'timeout'),
        ),
      timeoutMs,
    );
    onAbort = () => reject(new BundleSourceError(`${where}: pulling ${file} aborted`, 'aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([pull(), stop]);
  } catch (err) {
    throw err instanceof BundleSourceError
      ? err
      : new BundleSourceError(`${where}: cannot pull ${file}: ${(err as Error).message}`, 'failed');
  } finally {
    settled = true;
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    // Also on a timeout or abort with a read in flight: closing fails that read, and the
    // connection never outlives the pull.
    await session?.close();
  }
}

function connectFailure(err: unknown): BundleSourceFailure {
  switch ((err as Error).name) {
    case 'UnknownHostKeyError':
    case 'HostKeyMismatchError':
      return 'host-key';
    case 'SshAuthError':
    case 'SshKeyFileError':
      return 'auth';
    case 'SshUnreachableError':
      return 'unreachable';
    default:
      return 'failed';
  }
}
