import { createServer, type Server, type Socket } from 'node:net';
import type { ClientChannel } from 'ssh2';
import { type ConnectOptions, connectSsh, type SshSession } from '../shared/provision/connect.ts';

/**
 * Local port forwarding over one SSH connection, like `ssh -L`: each `forward(host, port)` is a
 * listener on 127.0.0.1 (a free port) whose accepted sockets are relayed, through the SSH server,
 * to host:port as that server sees it. Only loopback listens: nothing else on the laptop's network
 * reaches the pool through us.
 */

/** The one address tunnels listen on. */
const LOOPBACK = '127.0.0.1';

/** One local listener and where it leads. */
export interface Forward {
  /** Only loopback listens, so the type says which address. */
  localHost: typeof LOOPBACK;
  localPort: number;
  remoteHost: string;
  remotePort: number;
}

export type TunnelEvent =
  | { type: 'forward'; forward: Forward; via: string }
  /** The first failure to open a channel to a target (later ones repeat it). */
  | { type: 'forward-failed'; remoteHost: string; remotePort: number; via: string; error: string };

export interface TunnelOptions extends ConnectOptions {
  onTunnel?: (e: TunnelEvent) => void;
}

export class SshTunnel {
  readonly #forwards = new Map<string, Promise<Forward>>();
  readonly #servers = new Set<Server>();
  readonly #sockets = new Set<Socket>();
  readonly #channels = new Set<ClientChannel>();
  readonly #failed = new Set<string>();
  #closed = false;

  private constructor(
    readonly session: SshSession,
    private readonly onTunnel?: (e: TunnelEvent) => void,
  ) {}

  /** Connects (host key checked, retried like provisioning) and returns a tunnel with no forward yet. */
  static async open(opts: TunnelOptions): Promise<SshTunnel> {
    return new SshTunnel(await connectSsh(opts), opts.onTunnel);
  }

  /** `user@host:port` of the SSH server, for messages. */
  get via(): string {
    const t = this.session.target;
    return `${t.user}@${t.host}:${t.port}`;
  }

  /** The listener leading to host:port, opened on first use (one per target). */
  forward(host: string, port: number): Promise<Forward> {
    if (this.#closed) return Promise.reject(new Error(`the SSH tunnel via ${this.via} is closed`));
    const key = `${host}\n${port}`;
    let f = this.#forwards.get(key);
    if (!f) {
      f = this.#listen(host, port);
      this.#forwards.set(key, f);
      f.catch(() => this.#forwards.delete(key));
    }
    return f;
  }

  /** Stops every listener, drops every relayed connection, then closes the SSH connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sockets) s.destroy();
    for (const c of this.#channels) c.destroy();
    await Promise.all([...this.#servers].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await this.session.close();
  }

  #listen(host: string, port: number): Promise<Forward> {
    const server = createServer((sock) => this.#relay(sock, host, port));
    this.#servers.add(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: LOOPBACK, port: 0 }, () => {
        server.off('error', reject);
        const addr = server.address();
        if (addr === null || typeof addr !== 'object') return reject(new Error('the tunnel listener has no port'));
        const forward: Forward = { localHost: LOOPBACK, localPort: addr.port, remoteHost: host, remotePort: port };
        this.onTunnel?.({ type: 'forward', forward, via: this.via });
        resolve(forward);
      });
    });
  }

  #relay(sock: Socket, host: string, port: number): void {
    this.#sockets.add(sock);
    // Bytes that arrive before the channel opens wait in the socket's buffer (paused mode).
    sock.on('error', () => sock.destroy());
    sock.once('close', () => this.#sockets.delete(sock));
    this.session.forwardOut(host, port, { host: sock.remoteAddress ?? LOOPBACK, port: sock.remotePort ?? 0 }).then(
      (channel) => {
        if (sock.destroyed || this.#closed) {
          channel.destroy();
          return;
        }
        this.#channels.add(channel);
        channel.once('close', () => {
          this.#channels.delete(channel);
          // Ended cleanly: the pipe already ended the socket, let its last bytes drain.
          if (!sock.writableEnded) sock.destroy();
        });
        channel.on('error', () => sock.destroy());
        sock.once('close', () => channel.destroy());
        sock.pipe(channel);
        channel.pipe(sock);
      },
      (err: Error) => {
        sock.destroy();
        const key = `${host}\n${port}`;
        if (this.#failed.has(key)) return;
        this.#failed.add(key);
        this.onTunnel?.({
          type: 'forward-failed',
          remoteHost: host,
          remotePort: port,
          via: this.via,
          error: err.message,
        });
      },
    );
  }
}
