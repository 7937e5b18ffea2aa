import { createHash } from 'node:crypto';
import { connectSsh } from '../../shared/provision/connect.ts';
import { PinnedHostKeys } from '../../shared/provision/known-hosts.ts';
import type { AgentBundleConfig } from '../../shared/wire/agent-config.ts';

export type SftpBundleSource = NonNullable<AgentBundleConfig['sftp']>;

export class BundleSourceError extends Error {
  override name = 'BundleSourceError';
}

export interface SftpPullOptions {
  /** Whole pull: connect, read, verify (ms). Default 60 000. */
  timeoutMs?: number;
}

/**
 * Pulls `<dir>/<sha>.tar.gz` from an SSH host over SFTP. The host key must already be known
 * (known_hosts file or pinned fingerprint): an agent has no operator to confirm a new one. The
 * file's size is checked before reading and while reading, and the bytes are returned only when
 * their sha256 is `sha`.
 */
export async function pullOverSftp(
  src: SftpBundleSource,
  sha: string,
  maxBytes: number,
  opts: SftpPullOptions = {},
): Promise<Buffer> {
  if (!/^[0-9a-f]{64}$/.test(sha)) throw new BundleSourceError(`not a sha256 hex digest: ${sha.slice(0, 80)}`);
  const where = `${src.user}@${src.host}:${src.port}`;
  const file = `${src.dir.replace(/\/+$/, '')}/${sha}.tar.gz`;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BundleSourceError(`${where}: pulling ${file} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  const pull = async () => {
    const session = await connectSsh({
      host: src.host,
      port: src.port,
      user: src.user,
      keyFile: src.keyFile,
      knownHosts: new PinnedHostKeys({
        ...(src.knownHostsFile ? { knownHostsFile: src.knownHostsFile } : {}),
        ...(src.hostKey ? { fingerprint: src.hostKey } : {}),
      }),
      // One quick try per fetch: the bundle manager retries with its own backoff.
      timeouts: { waitTimeout: Math.min(10_000, timeoutMs), attemptTimeout: Math.min(10_000, timeoutMs) },
    });
    try {
      const bytes = await session.readFile(file, maxBytes);
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== sha) throw new BundleSourceError(`${where}: ${file} has sha256 ${actual}: refusing it`);
      return bytes;
    } finally {
      // Also after a timeout answered the caller: the connection never outlives the pull.
      await session.close();
    }
  };
  try {
    return await Promise.race([pull(), timeout]);
  } catch (err) {
    if (err instanceof BundleSourceError) throw err;
    throw new BundleSourceError(`${where}: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}
