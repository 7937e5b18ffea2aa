import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Hono } from 'hono';
import { MonitorBindError } from './errors.ts';

export interface MonitorServerOptions {
  host: string;
  /** 0 picks a free port; read the real one from `.address` after start(). */
  port: number;
  /**
   * GET routes answered by plain node:http, by path (no query string), before the app: what a
   * scraper reads every few seconds should not load @hono/node-server (see lazyListener). Each must
   * answer exactly as the app's route of the same path does; if it throws, the app answers instead
   * (its error handling, its log line).
   */
  plain?: Record<string, PlainRoute>;
}

/** A plain route's 200 answer. */
export type PlainRoute = () => Promise<{ body: string; contentType: string }>;

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
      const server = createServer(plainFirst(this.opts.plain ?? {}, lazyListener(this.app, host)));
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

/**
 * GET of a plain route's path: answered here, never loading @hono/node-server and with it undici.
 * An agent that only Prometheus reads paid that load for /metrics alone: ~60 ms of CPU on its first
 * scrape (~15 ms without) and ~2.5 MB of RSS for good (test/bench/metrics-scrape.ts, 2026-12-07).
 * Anything else, or a plain route that fails, goes to `app`.
 */
function plainFirst(plain: Record<string, PlainRoute>, app: Listener): Listener {
  const routes = new Map(Object.entries(plain));
  return async (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const route = req.method === 'GET' ? routes.get(q === -1 ? url : url.slice(0, q)) : undefined;
    if (route) {
      let reply: Awaited<ReturnType<PlainRoute>> | undefined;
      try {
        reply = await route();
      } catch {
        // The app runs the same route again and answers (and logs) its error.
      }
      if (reply) {
        // As the Hono adapter sends a string body: its length, not chunks.
        res.writeHead(200, { 'Content-Type': reply.contentType, 'Content-Length': Buffer.byteLength(reply.body) });
        res.end(reply.body);
        return;
      }
    }
    return app(req, res);
  };
}
