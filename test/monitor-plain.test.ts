import { Counter, Gauge, Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMonitorApp, metricsReply } from '../agent/monitor/app.ts';
import { MonitorServer, type PlainRoute } from '../agent/monitor/server.ts';
import { fakeSource } from './monitor-fake.ts';

const servers: MonitorServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

/** A registry whose text is the same at every render (no process metrics), with labels to escape. */
function fixedRegistry(): Registry {
  const registry = new Registry();
  const c = new Counter({
    name: 'demo_total',
    help: 'A "quoted" help\\with a backslash.',
    labelNames: ['k'],
    registers: [registry],
  });
  c.inc({ k: 'a"b\\c\nd' }, 3);
  c.inc({ k: 'plain' }, 0.25);
  new Gauge({
    name: 'demo_gauge',
    help: 'Set at scrape.',
    registers: [registry],
    collect() {
      this.set(7);
    },
  });
  return registry;
}

/** A monitor over real HTTP with /metrics as a plain route; `app.fetch` spied: was the Hono adapter used? */
async function start(plain?: PlainRoute) {
  const f = fakeSource();
  const registry = fixedRegistry();
  const app = createMonitorApp({ ...f.source, registry });
  const appFetch = vi.spyOn(app, 'fetch');
  const server = new MonitorServer(app, {
    host: '127.0.0.1',
    port: 0,
    plain: { '/metrics': plain ?? metricsReply(registry) },
  });
  servers.push(server);
  await server.start();
  return { server, app, appFetch };
}

describe('MonitorServer plain routes', () => {
  it('answers GET /metrics exactly as the app does, without the app', async () => {
    const { server, app, appFetch } = await start();
    const viaApp = await app.request('/metrics');
    appFetch.mockClear();
    for (const path of ['/metrics', '/metrics?name[]=x']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(viaApp.headers.get('content-type'));
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.equals(Buffer.from(await (await app.request('/metrics')).arrayBuffer()))).toBe(true);
      expect(res.headers.get('content-length')).toBe(String(body.length));
    }
    // Only the app.request() calls above reached the app.
    expect(appFetch).toHaveBeenCalledTimes(2);
    appFetch.mockClear();
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect(appFetch).toHaveBeenCalledTimes(1);
  });

  it('leaves every other method on the path to the app: HEAD, and POST refused with its Allow', async () => {
    const { server, appFetch } = await start();
    const head = await fetch(`${server.url}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/plain/);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(appFetch).toHaveBeenCalledTimes(2);
  });

  it('a plain route that throws is answered by the app', async () => {
    const failing = vi.fn(async () => {
      throw new Error('render failed');
    });
    const { server, app, appFetch } = await start(failing);
    const res = await fetch(`${server.url}/metrics`);
    expect(failing).toHaveBeenCalledTimes(1);
    expect(appFetch).toHaveBeenCalledTimes(1);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(await (await app.request('/metrics')).text());
  });
});
