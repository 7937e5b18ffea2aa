import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Hono } from 'hono';
import { MonitorBindError } from './errors.ts';

export interface MonitorServerOptions {
  host: string;
  /** 0 picks a free port; read the real one from `.address` after start(). */
  port: number;
}

/** Binds a monitor app to a TCP socket. Startable: the agent starts it after the app's state exists. */
export class MonitorServer {
  private readonly app: Hono;
  private readonly opts: MonitorServerOptions;
  private server: Server | undefined;
  private bound: { host: string; port: number } | undefined;

  constructor(app: Hono, opts: MonitorServerOptions) {
    this.app = app;
    this.opts = opts;
  }

  /** The bound address; throws before start() so a caller cannot gossip a port 0 URL. */
  get address(): { host: string; port: number } {
    if (!this.bound) throw new Error('monitor server is not started');
    return this.bound;
  }

  get url(): string {
    const { host, port } = this.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('monitor server is already started');
    const { host, port } = this.opts;
    await new Promise<void>((resolve, reject) => {
      const server = createServer(lazyListener(this.app, host));
      // Bind errors arrive asynchronously as 'error'.
      server.listen(port, host, () => {
        server.off('error', onError);
        this.server = server;
        this.bound = { host, port: (server.address() as AddressInfo).port };
        resolve();
      });
      const onError = (err: Error): void => {
        server.close();
        reject(new MonitorBindError(host, port, err));
      };
      server.once('error', onError);
    });
  }

  /**
   * Stops listening and cuts every open connection: an SSE client never ends its request, so
   * waiting for connections to drain would hang shutdown forever.
   */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.bound = undefined;
    await new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    });
  }
}

type Listener = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * @hono/node-server, loaded on the first request. Its module reads the global Request, Response and
 * Headers (Node then loads undici, its fetch implementation) and imports node:http2: ~1.7 MB of RSS
 * per agent (file pages of the node binary and heap), paid by every idle follower whose monitor
 * nobody asks (BENCHMARKS.md, "RSS per idle follower: where it goes").
 */
function lazyListener(app: Hono, hostname: string): Listener {
  let listener: Promise<Listener> | undefined;
  return async (req, res) => {
    listener ??= import('@hono/node-server').then((m) => m.getRequestListener(app.fetch, { hostname }));
    return (await listener)(req, res);
  };
}
