import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { formatDuration } from '../duration.ts';
import { ProvisionError, RemoteFileError } from './errors.ts';
import type { HostKeyCheck } from './known-hosts.ts';
import { SSH_TIMEOUT_DEFAULTS, type SshTimeouts } from './timeouts-schema.ts';

/**
 * An open, authenticated SSH connection (connect.ts opens it): remote commands, SFTP reads and
 * writes, tunnels, and a close that cannot hang.
 */

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  keyFile: string;
}

export { SSH_TIMEOUT_DEFAULTS, type SshTimeouts };

export interface ExecResult {
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
}

/** Output kept per stream of one command: enough for any script we run, bounded against floods. */
const MAX_OUTPUT = 1 << 20;
/** Bytes asked for per SFTP read (ssh2 splits it into the server's packet size). */
const READ_CHUNK = 256 * 1024;
/** SSH_FX_NO_SUCH_FILE (SFTP v3). */
const NO_SUCH_FILE = 2;

export class SshSession {
  private sftpPromise?: Promise<SFTPWrapper>;

  constructor(
    readonly target: SshTarget,
    readonly hostKey: HostKeyCheck,
    private readonly client: Client,
    private readonly timeouts: SshTimeouts,
  ) {}

  /** Runs `command` (through the login shell), feeding `stdin`; resolves with its exit status. */
  exec(command: string, stdin = '', timeout = this.timeouts.commandTimeout): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new ProvisionError(`${this.where()}: '${command}' did not finish within ${formatDuration(timeout)}`));
        channel?.close();
      }, timeout);
      let channel: ClientChannel | undefined;
      this.client.exec(command, (err, stream) => {
        if (err) {
          clearTimeout(timer);
          reject(new ProvisionError(`${this.where()}: cannot run '${command}': ${err.message}`));
          return;
        }
        channel = stream;
        let stdout = '';
        let stderr = '';
        stream.on('data', (d: Buffer) => {
          if (stdout.length < MAX_OUTPUT) stdout += d.toString('utf8');
        });
        stream.stderr.on('data', (d: Buffer) => {
          if (stderr.length < MAX_OUTPUT) stderr += d.toString('utf8');
        });
        stream.on('close', (code: number | null, signal?: string) => {
          clearTimeout(timer);
          resolve({ code, signal, stdout, stderr });
        });
        stream.end(stdin);
      });
    });
  }

  /** Writes a remote file over SFTP with `mode`. */
  async writeFile(path: string, data: string | Buffer, mode: number): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) => {
      sftp.writeFile(path, data, { mode }, (err) =>
        err ? reject(new ProvisionError(`${this.where()}: cannot upload ${path}: ${err.message}`)) : resolve(),
      );
    });
  }

  /**
   * Reads a remote file over SFTP, refusing one larger than `maxBytes` before reading (its size
   * on the open handle) and stopping one that grows past it. Explicit reads rather than a read
   * stream: the handle is closed before this returns, so closing the session right after leaves
   * no request in flight to fail later as an uncaught stream error.
   */
  async readFile(path: string, maxBytes: number): Promise<Buffer> {
    const sftp = await this.sftp();
    const fail = (reason: RemoteFileError['reason'], what: string) =>
      new RemoteFileError(`${this.where()}: ${path}: ${what}`, reason);
    const io = (err: Error & { code?: unknown }) =>
      err.code === NO_SUCH_FILE ? fail('missing', 'no such file') : fail('unreadable', err.message);
    const handle = await new Promise<Buffer>((resolve, reject) => {
      sftp.open(path, 'r', (err, h) => (err ? reject(io(err)) : resolve(h)));
    });
    try {
      const { size } = await new Promise<{ size: number }>((resolve, reject) => {
        sftp.fstat(handle, (err, stats) => (err ? reject(io(err)) : resolve(stats)));
      });
      if (size > maxBytes) throw fail('too-large', `${size} bytes, more than the ${maxBytes} allowed`);
      const chunks: Buffer[] = [];
      let total = 0;
      // Bounded: every pass reads at least one byte or ends, and total stops at maxBytes + 1.
      for (;;) {
        const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, maxBytes + 1 - total));
        const n = await new Promise<number>((resolve, reject) => {
          sftp.read(handle, buf, 0, buf.length, total, (err, bytesRead) =>
            err ? reject(io(err)) : resolve(bytesRead),
          );
        });
        if (n === 0) break;
        total += n;
        if (total > maxBytes) throw fail('too-large', `grew past the ${maxBytes} bytes allowed while reading`);
        chunks.push(buf.subarray(0, n));
      }
      return Buffer.concat(chunks, total);
    } finally {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000); // a dropped channel never answers
        sftp.close(handle, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * Opens a channel to host:port as the SSH server sees it (direct-tcpip): the server makes the
   * TCP connection, so addresses only it can reach work. Needs AllowTcpForwarding on the server.
   */
  forwardOut(host: string, port: number, from = { host: '127.0.0.1', port: 0 }): Promise<ClientChannel> {
    const fail = (err: Error) =>
      new ProvisionError(`${this.where()}: cannot open a tunnel to ${host}:${port}: ${err.message}`);
    return new Promise((resolve, reject) => {
      try {
        this.client.forwardOut(from.host, from.port, host, port, (err, channel) =>
          err ? reject(fail(err)) : resolve(channel),
        );
      } catch (err) {
        reject(fail(err as Error)); // ssh2 throws at once when the connection is already gone
      }
    });
  }

  /** Closes the connection (bounded: a dead peer must not hang the caller). */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      // A peer that never answers the disconnect would keep the socket half-open: drop it.
      const timer = setTimeout(() => {
        this.client.destroy();
        resolve();
      }, 2000);
      this.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.end();
    });
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpPromise ??= new Promise((resolve, reject) => {
      this.client.sftp((err, sftp) =>
        err ? reject(new ProvisionError(`${this.where()}: SFTP is not available: ${err.message}`)) : resolve(sftp),
      );
    });
    return this.sftpPromise;
  }

  private where(): string {
    return `${this.target.user}@${this.target.host}:${this.target.port}`;
  }
}
