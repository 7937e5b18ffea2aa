import { type Context, Hono } from 'hono';
import type { Registry } from 'prom-client';
import { createLogger } from '../../shared/log.ts';
import { HttpError } from './errors.ts';
import { PAGE_HTML, PAGE_SCRIPT_HASH, PAGE_STYLE_HASH } from './page-assets.ts';
import type { PlainRoute } from './server.ts';
import type { MonitorSource } from './source.ts';
import { type EventStreamOptions, eventStreamHandler } from './sse.ts';

/**
 * One monitor route. The app is built from a table of these, so a later feature (/leader,
 * /scaling) adds a row instead of touching the error handling, the 405 logic or the index.
 */
export interface MonitorRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** Shown by GET / so a human (or the CLI) can discover the API. */
  description: string;
  handler: (c: Context) => Response | Promise<Response>;
}

export interface MonitorAppOptions extends EventStreamOptions {
  /** Routes added after the built-in ones (a path may not repeat a built-in method+path). */
  routes?: MonitorRoute[];
  /**
   * Called with every unexpected error (not HttpError) before the client gets a bare 500.
   * Default: an error line of the shared logger (stdout, like every agent log line).
   */
  onError?: (err: unknown, req: { method: string; path: string }) => void;
}

/** The read-only routes every agent serves. */
export function monitorRoutes(source: MonitorSource, opts: EventStreamOptions = {}): MonitorRoute[] {
  return [
    {
      method: 'GET',
      path: '/health',
      description: 'liveness and identity of this agent',
      handler: (c) => c.json(source.health()),
    },
    {
      method: 'GET',
      path: '/stats',
      description: "this node's latest metric readings",
      handler: (c) => c.json(source.stats()),
    },
    {
      method: 'GET',
      path: '/cluster',
      description: 'pool membership and leader as this agent sees them',
      handler: (c) => c.json(source.cluster()),
    },
    {
      method: 'GET',
      path: '/events',
      description: 'server-sent events: hello (cluster view), then every pool event',
      handler: eventStreamHandler(source, opts),
    },
    {
      method: 'GET',
      path: '/metrics',
      description: 'Prometheus metrics of this agent',
      handler: async (c) => {
        const { body, contentType } = await metricsReply(source.registry)();
        return c.body(body, 200, { 'Content-Type': contentType });
      },
    },
  ];
}

/**
 * GET /metrics's answer: the app's route and the monitor server's plain path (server.ts, which
 * serves scrapes without loading the Hono adapter) both send this, so they cannot drift apart.
 */
export function metricsReply(registry: Registry): PlainRoute {
  return async () => ({ body: await registry.metrics(), contentType: registry.contentType });
}

/**
 * Builds the monitor's HTTP app from the agent's state. It never listens: MonitorServer binds it,
 * tests call app.request().
 */
export function createMonitorApp(source: MonitorSource, opts: MonitorAppOptions = {}): Hono {
  const routes = [...monitorRoutes(source, opts), ...(opts.routes ?? [])];
  const onError = opts.onError ?? logError;
  const app = new Hono();

  const index = routes.map(({ method, path, description }) => ({ method, path, description }));
  // Browsers get the live page; everything else (the CLI, curl) the route index as JSON.
  app.get('/', (c) =>
    wantsHtml(c.req.header('accept'))
      ? c.html(PAGE_HTML, 200, PAGE_HEADERS)
      : c.json({ service: 'poolparty-agent monitor', routes: index }),
  );

  const allowed = new Map<string, Set<string>>([['/', new Set(['GET'])]]);
  for (const route of routes) {
    app.on(route.method, route.path, route.handler);
    const methods = allowed.get(route.path) ?? new Set<string>();
    methods.add(route.method);
    allowed.set(route.path, methods);
  }
  // Registered after every real handler, so it only sees methods no route took.
  for (const [path, methods] of allowed) {
    // Hono answers HEAD with the GET handler minus the body.
    const allow = [...methods, ...(methods.has('GET') ? ['HEAD'] : [])].join(', ');
    app.all(path, (c) => {
      throw new HttpError(405, 'method not allowed', { headers: { Allow: allow }, body: { method: c.req.method } });
    });
  }

  app.notFound((c) => c.json({ error: 'not found', path: c.req.path }, 404));
  app.onError((err, c) => {
    if (err instanceof HttpError) {
      return c.json({ error: err.message, ...err.body }, err.status, err.headers);
    }
    onError(err, { method: c.req.method, path: c.req.path });
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}

function logError(err: unknown, req: { method: string; path: string }): void {
  const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  createLogger({ component: 'monitor' }).error('monitor request failed', { method: req.method, path: req.path, error });
}

// A browser navigating here asks for text/html first; curl and fetch (any type) keep the JSON index.
function wantsHtml(accept: string | undefined): boolean {
  return accept !== undefined && /(^|,)\s*text\/html/.test(accept);
}

/**
 * The page runs only its own inline script and style (by hash) and talks only to this monitor:
 * whatever a member gossips, nothing it says can load or run code in a visitor's browser.
 */
const PAGE_HEADERS = {
  'Content-Security-Policy': [
    "default-src 'none'",
    `script-src ${PAGE_SCRIPT_HASH}`,
    `style-src ${PAGE_STYLE_HASH}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
};
