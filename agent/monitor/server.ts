import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
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
      // serve() calls listen() right away; bind errors arrive asynchronously as 'error'.
      const server = serve({ fetch: this.app.fetch, hostname: host, port }, (info: AddressInfo) => {
        server.off('error', onError);
        this.server = server;
        this.bound = { host, port: info.port };
        resolve();
      }) as Server;
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
