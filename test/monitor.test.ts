import { describe, expect, it, vi } from 'vitest';
import { createMonitorApp } from '../agent/monitor/app.ts';
import { HttpError } from '../agent/monitor/errors.ts';
import { createAgentMetrics } from '../agent/monitor/prom.ts';
import { formatSseMessage } from '../agent/monitor/sse.ts';
import type { PoolEvent } from '../shared/wire/cluster.ts';
import { promtoolCheck } from './fixtures/promtool.ts';
import { waitFor } from './fixtures/wait.ts';
import { fakeSource, SseReader } from './monitor-fake.ts';

const joined: PoolEvent = { type: 'member-joined', peerId: 'peer-b', instanceId: 'local-2', at: 1_700_000_000_123 };

describe('monitor app: JSON routes', () => {
  it.each([
    ['/health', (f: ReturnType<typeof fakeSource>) => f.source.health()],
    ['/stats', (f: ReturnType<typeof fakeSource>) => f.source.stats()],
    ['/cluster', (f: ReturnType<typeof fakeSource>) => f.source.cluster()],
  ])('GET %s returns the source view as JSON', async (path, view) => {
    const f = fakeSource();
    const res = await createMonitorApp(f.source).request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(view(f));
  });

  it('GET / lists every route, including added ones', async () => {
    const f = fakeSource();
    const app = createMonitorApp(f.source, {
      routes: [{ method: 'GET', path: '/leader', description: 'leader', handler: (c) => c.json({ term: 3 }) }],
    });
    const body = (await (await app.request('/')).json()) as { routes: { method: string; path: string }[] };
    expect(body.routes.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /health',
      'GET /stats',
      'GET /cluster',
      'GET /events',
      'GET /metrics',
      'GET /leader',
    ]);
    expect(await (await app.request('/leader')).json()).toEqual({ term: 3 });
  });

  it('HEAD is answered by the GET handler without a body', async () => {
    const res = await createMonitorApp(fakeSource().source).request('/health', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });
});

describe('monitor app: errors', () => {
  it('unknown path gives 404 JSON naming the path', async () => {
    const res = await createMonitorApp(fakeSource().source).request('/nope/x?y=1');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not found', path: '/nope/x' });
  });

  it.each([
    ['POST', '/health'],
    ['DELETE', '/cluster'],
    ['PUT', '/'],
    ['POST', '/events'],
  ])('%s %s gives 405 with an Allow header', async (method, path) => {
    const res = await createMonitorApp(fakeSource().source).request(path, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(await res.json()).toEqual({ error: 'method not allowed', method });
  });

  it('a thrown error gives 500 "internal error" with no message or stack, and is reported', async () => {
    const f = fakeSource();
    f.source.health = () => {
      throw new Error('secret: /var/lib/poolparty/peer-key unreadable');
    };
    const onError = vi.fn();
    const res = await createMonitorApp(f.source, { onError }).request('/health');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: 'internal error' });
    expect(text).not.toMatch(/secret|at |\.ts/);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0]?.[1]).toEqual({ method: 'GET', path: '/health' });
  });

  it('a failing metrics registry gives 500', async () => {
    const f = fakeSource();
    f.source.registry.metrics = () => Promise.reject(new Error('collector exploded'));
    const res = await createMonitorApp(f.source, { onError: () => {} }).request('/metrics');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'internal error' });
  });

  it('an HttpError from a route keeps its status, message and headers', async () => {
    const app = createMonitorApp(fakeSource().source, {
      routes: [
        {
          method: 'GET',
          path: '/scaling',
          description: 'scaling',
          handler: () => {
            throw new HttpError(503, 'no leader yet', { headers: { 'Retry-After': '5' } });
          },
        },
      ],
    });
    const res = await app.request('/scaling');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.json()).toEqual({ error: 'no leader yet' });
  });
});

describe('monitor app: /metrics', () => {
  it('serves the registry text with its content type, members read at scrape time', async () => {
    let alive = 2;
    const metrics = createAgentMetrics({ membersByState: () => ({ alive, suspect: 1, dead: 0, left: 0 }) });
    const f = fakeSource();
    f.source.registry = metrics.registry;
    const app = createMonitorApp(f.source);
    const res = await app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(metrics.registry.contentType);
    const text = await res.text();
    expect(text).toContain('poolparty_members{state="alive"} 2');
    expect(text).toContain('poolparty_members{state="left"} 0');
    alive = 5;
    expect(await (await app.request('/metrics')).text()).toContain('poolparty_members{state="alive"} 5');
  });
});

describe('monitor app: /events (SSE)', () => {
  it('sends hello with the cluster view, then pool events; unsubscribes on cancel', async () => {
    const f = fakeSource();
    const res = await createMonitorApp(f.source).request('/events');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const sse = new SseReader(res.body!);

    const hello = await sse.nextEvent();
    expect(hello.event).toBe('hello');
    expect(JSON.parse(hello.data!)).toEqual(f.cluster);
    expect(f.listeners.size).toBe(1);

    f.emit(joined);
    const msg = await sse.nextEvent();
    expect(msg.event).toBe('member-joined');
    expect(JSON.parse(msg.data!)).toEqual(joined);

    await sse.cancel();
    await waitFor('the SSE listener removed', () => f.listeners.size === 0, { timeoutMs: 5_000 });
  });

  it('sends keep-alive comments on an idle stream', async () => {
    const f = fakeSource();
    const res = await createMonitorApp(f.source, { keepAliveMs: 20 }).request('/events');
    const sse = new SseReader(res.body!);
    expect((await sse.next()).event).toBe('hello');
    expect(await sse.next()).toEqual({ comment: 'ping' });
    await sse.cancel();
    await waitFor('the SSE listener removed', () => f.listeners.size === 0, { timeoutMs: 5_000 });
  });

  it('drops a client that stops reading instead of buffering without bound', async () => {
    const f = fakeSource();
    const res = await createMonitorApp(f.source, { maxPending: 5 }).request('/events');
    await waitFor('the SSE client subscribed', () => f.listeners.size === 1, { timeoutMs: 5_000 });
    for (let i = 0; i < 100 && f.listeners.size > 0; i++) f.emit({ ...joined, at: i });
    await waitFor('the SSE listener removed', () => f.listeners.size === 0, { timeoutMs: 5_000 });
    await res.body!.cancel();
  });

  it('a failing cluster view gives a plain 500, not a broken stream', async () => {
    const f = fakeSource();
    f.source.cluster = () => {
      throw new Error('boom');
    };
    const res = await createMonitorApp(f.source, { onError: () => {} }).request('/events');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'internal error' });
    expect(f.listeners.size).toBe(0);
  });

  it('formatSseMessage writes one event and one JSON data line, and refuses multi-line names', () => {
    expect(formatSseMessage('member-dead', { a: 'x\ny' })).toBe('event: member-dead\ndata: {"a":"x\\ny"}\n\n');
    expect(() => formatSseMessage('a\nb', {})).toThrow(/one line/);
  });
});

describe('agent metrics (prom-client)', () => {
  it('each call has its own registry, so two agents can live in one process', async () => {
    const a = createAgentMetrics({ membersByState: () => ({ alive: 1, suspect: 0, dead: 0, left: 0 }) });
    const b = createAgentMetrics({ membersByState: () => ({ alive: 7, suspect: 0, dead: 0, left: 0 }) });
    a.heartbeatsSent.inc(3);
    expect(a.registry).not.toBe(b.registry);
    expect(await a.registry.metrics()).toContain('poolparty_heartbeats_sent_total 3');
    expect(await b.registry.metrics()).toContain('poolparty_heartbeats_sent_total 0');
    expect(await b.registry.metrics()).toContain('poolparty_members{state="alive"} 7');
  });

  it('promtool rejects a badly named metric (the check below can fail)', () => {
    const bad = '# HELP foo_total a gauge\n# TYPE foo_total gauge\nfoo_total 1\n';
    expect(promtoolCheck(bad).status).not.toBe(0);
  });

  it('real scrape output passes `promtool check metrics`', async () => {
    const m = createAgentMetrics({ membersByState: () => ({ alive: 3, suspect: 1, dead: 1, left: 0 }) });
    m.heartbeatsSent.inc();
    m.heartbeatsReceived.inc(2);
    m.heartbeatsRejected.inc({ reason: 'bad-signature' });
    m.gossipBytes.inc({ direction: 'in' }, 512);
    m.gossipBytes.inc({ direction: 'out' }, 256);
    m.eventLoopLag.set(0.004);
    m.metricSourceErrors.inc({ metric: 'queue_depth' });
    m.memberEvents.inc({ type: 'member-joined' });
    const text = await m.registry.metrics();
    for (const name of [
      'poolparty_heartbeats_sent_total 1',
      'poolparty_heartbeats_received_total 2',
      'poolparty_heartbeats_rejected_total{reason="bad-signature"} 1',
      'poolparty_gossip_bytes_total{direction="in"} 512',
      'poolparty_gossip_bytes_total{direction="out"} 256',
      'poolparty_event_loop_lag_seconds 0.004',
      'poolparty_metric_source_errors_total{metric="queue_depth"} 1',
      'poolparty_member_events_total{type="member-joined"} 1',
      'poolparty_member_events_total{type="member-removed"} 0',
      'poolparty_members{state="dead"} 1',
      'poolparty_process_cpu_seconds_total',
    ]) {
      expect(text).toContain(name);
    }
    const check = promtoolCheck(text);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });
});
