import { readFile } from 'node:fs/promises';
import { type Socket, connect as tcpConnect } from 'node:net';
import pRetry, { AbortError } from 'p-retry';
// ssh2 is CommonJS and Node's ESM loader does not detect all its named exports (utils): use the default.
import ssh2 from 'ssh2';
import { formatDuration } from '../duration.ts';
import { SshAuthError, SshKeyFileError, SshUnreachableError } from './errors.ts';
import type { HostKeyCheck, HostKeyVerifier } from './known-hosts.ts';
import { SSH_TIMEOUT_DEFAULTS, SshSession, type SshTarget, type SshTimeouts } from './ssh-session.ts';

/**
 * One SSH connection to a target, opened the way a booting machine needs: retry until the port
 * opens and sshd sends its banner (up to waitTimeout), then check the host key against the pool's
 * known_hosts and authenticate with the key file. Failures that retrying cannot fix (wrong key,
 * changed host key, unreadable key file) stop at once.
 */

// Importers of the connection also use the session and its settings from here.
export { type ExecResult, SSH_TIMEOUT_DEFAULTS, SshSession, type SshTarget, type SshTimeouts } from './ssh-session.ts';

export type SshProgress =
  | { type: 'connecting'; host: string; port: number; attempt: number }
  | { type: 'port-open'; host: string; port: number }
  | { type: 'banner'; host: string; port: number; banner: string }
  | ({ type: 'host-key'; host: string; port: number; knownHostsFile: string } & HostKeyCheck)
  | { type: 'authenticated'; host: string; port: number; user: string }
  | { type: 'retry'; host: string; port: number; attempt: number; error: string };

export interface ConnectOptions extends SshTarget {
  knownHosts: HostKeyVerifier;
  /** Replace a recorded host key that no longer matches (a replaced machine). Default false. */
  acceptNewHostKey?: boolean;
  timeouts?: Partial<SshTimeouts>;
  onProgress?: (e: SshProgress) => void;
}

/** Reads and parses the private key, so a bad key file fails before any network traffic. */
export async function readPrivateKey(keyFile: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(keyFile);
  } catch (err) {
    throw new SshKeyFileError(
      `cannot read SSH key file ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const parsed = ssh2.utils.parseKey(bytes);
  if (parsed instanceof Error) {
    const hint = /passphrase|encrypted/i.test(parsed.message)
      ? ' (encrypted keys are not supported: use an unencrypted key)'
      : '';
    throw new SshKeyFileError(`SSH key file ${keyFile} is not usable: ${parsed.message}${hint}`);
  }
  return bytes;
}

/** Fatal errors end the wait at once; anything else is retried until waitTimeout. */
class Fatal {
  constructor(readonly error: Error) {}
}

export async function connectSsh(opts: ConnectOptions): Promise<SshSession> {
  const t = { ...SSH_TIMEOUT_DEFAULTS, ...opts.timeouts };
  const privateKey = await readPrivateKey(opts.keyFile);
  const deadline = Date.now() + t.waitTimeout;
  const at = { host: opts.host, port: opts.port };
  let attempts = 0;
  let fatal: Error | undefined;
  try {
    return await pRetry(
      async (attempt) => {
        attempts = attempt;
        opts.onProgress?.({ type: 'connecting', ...at, attempt });
        const stepTimeout = Math.max(1000, Math.min(t.attemptTimeout, deadline - Date.now()));
        try {
          return await attemptOnce(opts, privateKey, stepTimeout, t);
        } catch (err) {
          if (!(err instanceof Fatal)) throw err;
          fatal = err.error;
          throw new AbortError(err.error);
        }
      },
      {
        // Bounded by the deadline, not a count: no attempt starts once the next pause would pass it.
        retries: Number.POSITIVE_INFINITY,
        factor: 1,
        minTimeout: t.retryInterval,
        maxTimeout: t.retryInterval,
        shouldRetry: ({ error, attemptNumber }) => {
          if (Date.now() + t.retryInterval >= deadline) return false;
          opts.onProgress?.({ type: 'retry', ...at, attempt: attemptNumber, error: error.message });
          return true;
        },
      },
    );
  } catch (err) {
    if (err === fatal) throw err;
    throw new SshUnreachableError(
      `cannot reach ${opts.host}:${opts.port} over SSH within ${formatDuration(t.waitTimeout)} ` +
        `(${attempts} attempt${attempts > 1 ? 's' : ''}): ${(err as Error).message}`,
    );
  }
}

async function attemptOnce(
  opts: ConnectOptions,
  privateKey: Buffer,
  stepTimeout: number,
  t: SshTimeouts,
): Promise<SshSession> {
  const { host, port } = opts;
  const sock = await openPort(host, port, stepTimeout);
  opts.onProgress?.({ type: 'port-open', host, port });
  let banner: string;
  try {
    banner = await readBanner(sock, stepTimeout);
  } catch (err) {
    sock.destroy();
    throw err;
  }
  opts.onProgress?.({ type: 'banner', host, port, banner });

  const client = new ssh2.Client();
  let hostKey: HostKeyCheck | undefined;
  let hostKeyError: Error | undefined;
  return new Promise<SshSession>((resolve, reject) => {
    client.once('ready', () => {
      client.removeAllListeners('error');
      client.on('error', () => {}); // later transport errors surface through exec/sftp callbacks
      opts.onProgress?.({ type: 'authenticated', host, port, user: opts.user });
      resolve(new SshSession(opts, hostKey as HostKeyCheck, client, t));
    });
    client.once('error', (err: Error & { level?: string }) => {
      client.end();
      sock.destroy();
      if (hostKeyError) reject(new Fatal(hostKeyError));
      else if (err.level === 'client-authentication') {
        reject(
          new Fatal(
            new SshAuthError(
              `${opts.user}@${host}:${port} rejected the key ${opts.keyFile} (publickey authentication failed): ` +
                `is its public key in ~${opts.user}/.ssh/authorized_keys?`,
            ),
          ),
        );
      } else reject(new Error(`SSH handshake failed: ${err.message}`));
    });
    client.connect({
      sock,
      username: opts.user,
      privateKey,
      readyTimeout: stepTimeout,
      keepaliveInterval: 15_000,
      hostVerifier: (blob: Buffer, verify: (ok: boolean) => void) => {
        opts.knownHosts.check(host, port, blob, opts.acceptNewHostKey === true).then(
          (check) => {
            hostKey = check;
            opts.onProgress?.({ type: 'host-key', host, port, knownHostsFile: opts.knownHosts.file, ...check });
            verify(true);
          },
          (err: Error) => {
            hostKeyError = err;
            verify(false);
          },
        );
      },
    });
  });
}

function openPort(host: string, port: number, timeout: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = tcpConnect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`TCP connect to ${host}:${port} timed out after ${formatDuration(timeout)}`));
    }, timeout);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      sock.destroy();
      reject(new Error(`connect ${err.code ?? err.message}`));
    });
  });
}

/**
 * Waits for the server's identification line ('SSH-2.0-…'; RFC 4253 allows other lines before
 * it), then puts what was read back so ssh2 sees the stream from its start.
 */
function readBanner(sock: Socket, timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const done = (err?: Error, banner?: string) => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      sock.off('error', onError);
      if (err) return reject(err);
      sock.pause();
      sock.unshift(buffered);
      resolve(banner as string);
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const lines = buffered.toString('latin1').split('\n');
      const ident = lines.slice(0, -1).find((l) => l.startsWith('SSH-'));
      if (ident) done(undefined, ident.trim());
      else if (buffered.length > 8192) done(new Error('no SSH banner in the first 8 KiB'));
    };
    const onClose = () => done(new Error('connection closed before the SSH banner'));
    const onError = (err: Error) => done(new Error(`connection failed before the SSH banner: ${err.message}`));
    const timer = setTimeout(() => done(new Error(`no SSH banner within ${formatDuration(timeout)}`)), timeout);
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.once('error', onError);
  });
}
