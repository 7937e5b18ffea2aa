import { afterEach, describe, expect, it } from 'vitest';
import { createMonitorApp } from '../agent/monitor/app.ts';
import { MonitorBindError } from '../agent/monitor/errors.ts';
import { MonitorServer } from '../agent/monitor/server.ts';
import type { PoolEvent } from '../shared/wire/cluster.ts';
import { waitFor } from './fixtures/wait.ts';
import { fakeSource, SseReader } from './monitor-fake.ts';

const servers: MonitorServer[] = [];
const clients: AbortController[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.abort();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function startServer(f = fakeSource(), port = 0): Promise<MonitorServer> {
  const server = new MonitorServer(createMonitorApp(f.source), { host: '127.0.0.1', port });
  servers.push(server);
  await server.start();
  return server;
}

async function openEvents(url: string): Promise<SseReader> {
  const ctl = new AbortController();
  clients.push(ctl);
  const res = await fetch(`${url}/events`, { signal: ctl.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  return new SseReader(res.body!);
}

describe('MonitorServer over real HTTP', () => {
  it('binds port 0 to a real port and serves /health and /cluster', async () => {
    const f = fakeSource();
    const server = await startServer(f);
    expect(server.address.host).toBe('127.0.0.1');
    expect(server.address.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.address.port}`);

    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual(f.source.health());
    expect(await (await fetch(`${server.url}/cluster`)).json()).toEqual(f.cluster);
    expect((await fetch(`${server.url}/missing`)).status).toBe(404);
  });

  it('streams hello and pool events over /events, and unsubscribes when the client goes away', async () => {
    const f = fakeSource();
    const server = await startServer(f);
    const sse = await openEvents(server.url);
    const hello = await sse.nextEvent();
    expect(hello.event).toBe('hello');
    expect(JSON.parse(hello.data!)).toEqual(f.cluster);

    const dead: PoolEvent = { type: 'member-dead', peerId: 'peer-c', instanceId: 'local-3', at: 42 };
    f.emit(dead);
    const msg = await sse.nextEvent();
    expect(msg.event).toBe('member-dead');
    expect(JSON.parse(msg.data!)).toEqual(dead);

    clients.at(-1)!.abort();
    await waitFor('the SSE listener removed', () => f.listeners.size === 0, { timeoutMs: 10_000 });
  });

  it('stop() resolves while an SSE client is connected, and ends its stream', async () => {
    const f = fakeSource();
    const server = await startServer(f);
    const sse = await openEvents(server.url);
    expect((await sse.nextEvent()).event).toBe('hello');
    expect(f.listeners.size).toBe(1);

    const url = server.url;
    await server.stop();
    expect(await sse.drain()).toBe(true);
    await waitFor('the SSE listener removed', () => f.listeners.size === 0, { timeoutMs: 10_000 });
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it('start() rejects with a MonitorBindError naming host:port when the port is taken', async () => {
    const first = await startServer();
    const port = first.address.port;
    const second = new MonitorServer(createMonitorApp(fakeSource().source), { host: '127.0.0.1', port });
    servers.push(second);
    const err = await second.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MonitorBindError);
    expect((err as MonitorBindError).name).toBe('MonitorBindError');
    expect((err as Error).message).toBe(`monitor cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    expect(() => second.address).toThrow(/not started/);
    // The first server is unaffected.
    expect((await fetch(`${first.url}/health`)).status).toBe(200);
  });

  it('stop() before start() and a second stop() are no-ops; start() twice is refused', async () => {
    const server = new MonitorServer(createMonitorApp(fakeSource().source), { host: '127.0.0.1', port: 0 });
    servers.push(server);
    await server.stop();
    await server.start();
    await expect(server.start()).rejects.toThrow(/already started/);
    await server.stop();
    await server.stop();
  });
});
