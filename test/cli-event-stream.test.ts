import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { eventSource } from '../cli/event-sources.ts';
import { followEvents } from '../cli/monitor-client.ts';
import { eventLine, shortSha } from '../cli/render.ts';
import type { PoolEvent } from '../shared/wire/cluster.ts';
import { POOL_EVENT_GROUPS } from '../shared/wire/pool-event-types.ts';

const PEER = '12D3KooWPeerAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAzzz999';
const SHA = 'ab'.repeat(32);
const member = { peerId: PEER, instanceId: 'local-7', at: 1_000 };
const rollout = { sha: SHA, at: 2_000 };
const upgrade = { ...rollout, version: '9.9.9' };

/** One event of every pool type; keyed by the union, so a new type must be added here to compile. */
const SAMPLES: { [T in PoolEvent['type']]: Extract<PoolEvent, { type: T }> } = {
  'member-joined': { type: 'member-joined', ...member },
  'member-suspect': { type: 'member-suspect', ...member },
  'member-dead': { type: 'member-dead', ...member },
  'member-left': { type: 'member-left', ...member },
  'member-recovered': { type: 'member-recovered', ...member },
  'member-removed': { type: 'member-removed', ...member },
  'leader-elected': { type: 'leader-elected', peerId: PEER, term: 4, at: 1_000, self: false },
  'leader-lost': { type: 'leader-lost', peerId: PEER, term: 4, at: 1_000 },
  'leader-stepped-down': { type: 'leader-stepped-down', peerId: PEER, term: 4, at: 1_000, reason: 'lost quorum' },
  'scaling-decision': {
    type: 'scaling-decision',
    at: 1_000,
    term: 4,
    cloud: 'c',
    action: 'expand',
    count: 2,
    reason: 'cpu > 80',
    instances: 3,
  },
  retiring: { type: 'retiring', peerId: PEER, instanceId: 'local-7', term: 4, at: 1_000, reason: 'contract' },
  'bundle-applied': { type: 'bundle-applied', peerId: PEER, ...rollout, resolver: 'puppet', durationMs: 1_500 },
  'bundle-failed': { type: 'bundle-failed', peerId: PEER, ...rollout, stage: 'apply', error: 'Exec[x] failed' },
  'rollout-started': { type: 'rollout-started', ...rollout, maxUnavailable: 2 },
  'rollout-halted': { type: 'rollout-halted', ...rollout, reason: 'local-7 failed at apply' },
  'rollout-complete': { type: 'rollout-complete', ...rollout, members: 5 },
  'upgrade-started': { type: 'upgrade-started', ...upgrade, members: 5, resumed: false },
  'upgrade-progress': { type: 'upgrade-progress', ...upgrade, peerId: PEER, instanceId: 'local-7', phase: 'staged' },
  'upgrade-halted': { type: 'upgrade-halted', ...upgrade, peerId: PEER, instanceId: 'local-7', reason: 'not ready' },
  'upgrade-complete': { type: 'upgrade-complete', ...upgrade, members: 5 },
};

const sse = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A monitor's GET /events on a free loopback port: what the agent streams, then the end of the stream. */
async function monitorStreaming(events: readonly PoolEvent[]): Promise<string> {
  server = createServer((req, res) => {
    if (req.url !== '/events') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': stream open\n\n');
    res.write(sse('hello', { pool: 'p', members: [] }));
    res.write(sse('pool-sample', { type: 'pool-sample', at: 1, leader: null, clouds: {}, rules: [] }));
    for (const [i, e] of events.entries()) {
      const text = sse(e.type, e);
      // Some events split across writes and some with CRLF line ends, as proxies deliver them.
      if (i % 3 === 1) {
        res.write(text.slice(0, 9));
        res.write(text.slice(9));
      } else res.write(i % 3 === 2 ? text.replaceAll('\n', '\r\n') : text);
    }
    res.end();
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("the CLI's reader of a monitor's event stream", () => {
  it('hands on every pool event type, bundle and rollout events included, and skips the rest', async () => {
    const sent = Object.values(SAMPLES);
    expect(sent.map((e) => e.type)).toEqual(Object.keys(POOL_EVENT_GROUPS));
    const monitor = await monitorStreaming(sent);
    const got: PoolEvent[] = [];
    await followEvents(monitor, (e) => got.push(e), new AbortController().signal);
    expect(got).toEqual(sent);
  });

  it('prints each of them as a line with what it is about', async () => {
    const names = new Map([[PEER, 'local-7']]);
    for (const e of Object.values(SAMPLES)) {
      const line = eventLine(e, names);
      expect(line, e.type).toContain(e.type);
      expect(line, e.type).not.toContain('?');
      const about = 'peerId' in e ? 'local-7' : 'sha' in e ? shortSha(e.sha) : e.reason;
      expect(line, e.type).toContain(about);
    }
  });

  it('takes each from one followed node or from every node, so every type is printed once', () => {
    for (const e of Object.values(SAMPLES)) {
      const group = POOL_EVENT_GROUPS[e.type];
      expect(eventSource(e), e.type).toBe(group === 'member' || group === 'leader' ? 'followed-node' : 'every-node');
    }
    const routine = { ...SAMPLES['scaling-decision'], action: 'none' as const, count: 0 };
    expect(eventSource(routine)).toBeUndefined();
    expect(eventSource({ ...routine, blocked: 'cooldown' })).toBe('every-node');
  });

  it("says why an upgrade started when it was not a push (a leader's catch-up of launched members)", () => {
    const started = SAMPLES['upgrade-started'];
    const catchUp = { ...started, reason: 'catch-up of launched members' } as PoolEvent;
    expect(eventLine(catchUp, new Map())).toMatch(/5 member\(s\): catch-up of launched members$/);
    expect(eventLine(started, new Map())).toMatch(/5 member\(s\)$/);
  });
});
