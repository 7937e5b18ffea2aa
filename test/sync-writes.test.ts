import type { Stream } from '@libp2p/interface';
import { encode } from 'cborg';
import { afterEach, describe, expect, it } from 'vitest';
import type { DigestEntry } from '../agent/membership/swim/types.ts';
import { requestSync, serveSync, type Table } from '../agent/membership/sync.ts';
import { WRITE_BYTES, writesOf } from '../agent/membership/sync-writes.ts';
import type { PoolNode } from '../agent/p2p/node.ts';
import { FrameSplitter, frame } from '../agent/transport/frames.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { checkRecord, decodeCbor } from '../shared/wire/codec.ts';
import { type Heartbeat, WIRE_VERSION } from '../shared/wire/heartbeat.ts';
import { waitFor } from './fixtures/wait.ts';
import { startPoolNode } from './helpers/pool-node.ts';

/**
 * A sync's table is written in few writes (issue 13: the CPU and bytes of joins): one per
 * WRITE_BYTES of frames, not one per record. The frames are those of before, so an agent that
 * reads a frame at a time (every released version) still reads the table, and a table written a
 * frame at a time (by such an agent) is still read.
 */

const STATES = ['alive', 'suspect', 'dead', 'left'] as const;

function record(i: number): Heartbeat {
  return {
    v: WIRE_VERSION,
    type: 'heartbeat',
    peerId: `12D3KooWMember${String(i).padStart(38, '0')}`,
    seq: 1_765_000_000_000 + i,
    instanceId: `i-0123456789abc${String(i).padStart(4, '0')}`,
    cloud: 'aws',
    addrs: [`/ip4/10.0.${i >> 8}.${i & 255}/tcp/8643`],
    monitor: `http://10.0.${i >> 8}.${i & 255}:8642`,
    version: '0.14.0',
    startedAt: 1_765_000_000_000,
    metrics: { cpu: 0.25, mem: 0.5, load1: 1.5, rps: 120 },
    term: 3,
  };
}

function tableOfSize(n: number): Table {
  const records = Array.from({ length: n }, (_, i) => record(i));
  const entries: DigestEntry[] = records.map((r, i) => ({ id: r.peerId, incarnation: i % 3, state: 'alive' }));
  return { entries, records };
}

/** Counts `stream.send` calls (writes) and the yamux data frames they become. */
function counted(stream: Stream): { writes: number; dataFrames: number } {
  const c = { writes: 0, dataFrames: 0 };
  const s = stream as unknown as {
    send(b: Uint8Array): boolean;
    sendFrame(h: { type: number }, d?: unknown): boolean;
  };
  const send = s.send.bind(s);
  const sendFrame = s.sendFrame;
  s.send = (b) => {
    c.writes++;
    return send(b);
  };
  s.sendFrame = (h, d) => {
    if (h.type === 0) c.dataFrames++;
    return sendFrame(h, d);
  };
  return c;
}

/**
 * The table reader of agents released before writes were joined (sync.ts requestSync at a34fbb0),
 * frozen here: it splits the stream into frames and decodes them one by one.
 */
async function releasedReader(stream: Stream, maxMembers: number): Promise<Table> {
  stream.send(frame(encode([''])));
  const max = 1 + Math.ceil(maxMembers / 200) + maxMembers;
  const splitter = new FrameSplitter(16 * 1024);
  const frames: Uint8Array[] = [];
  for await (const chunk of stream) {
    const got = splitter.push(chunk instanceof Uint8Array ? chunk : chunk.subarray());
    if (typeof got === 'string') throw new Error(got);
    frames.push(...got);
    if (frames.length >= max) break;
  }
  expect(decodeCbor(frames[0] as Uint8Array)).toEqual([false]);
  const table: Table = { entries: [], records: [] };
  for (const f of frames.slice(1)) {
    const v = decodeCbor(f) as [string, unknown];
    if (v[0] === 'e')
      for (const [id, incarnation, s] of v[1] as Array<[string, number, number]>)
        table.entries.push({ id, incarnation, state: STATES[s] as DigestEntry['state'] });
    if (v[0] === 'r') table.records.push(checkRecord(v[1]) as Heartbeat);
  }
  await stream.close();
  return table;
}

describe('writesOf', () => {
  const f = (n: number) => new Uint8Array(n).fill(n & 255);

  it('joins frames in order up to the limit; a frame above it goes alone', () => {
    const out = writesOf([f(3), f(4), f(2), f(9), f(1)], 8);
    expect(out.map((w) => [...w])).toEqual([[...f(3), ...f(4)], [...f(2)], [...f(9)], [...f(1)]]);
    expect(writesOf([], 8)).toEqual([]);
  });
});

describe('a sync table on a real stream pair (libp2p, pnet, noise, yamux)', () => {
  const nodes: PoolNode[] = [];
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.stop();
  });

  async function pair(serve: (stream: Stream) => Promise<void>): Promise<() => Promise<Stream>> {
    const key = generatePoolKey();
    const [server, client] = [await startPoolNode(key), await startPoolNode(key)];
    nodes.push(server, client);
    await server.handle('/poolparty/p/sync/2', (stream) => void serve(stream).catch(() => undefined));
    await client.dial(server.getMultiaddrs()[0]!);
    return () => client.dialProtocol(server.peerId, '/poolparty/p/sync/2');
  }

  for (const n of [50, 300]) {
    it(`serves ${n} records in writes bounded by bytes, not records, and the released reader parses them`, async () => {
      const table = tableOfSize(n);
      const own = () => ({ hash: 'theirs', table: () => table });
      const served: Array<{ writes: number; dataFrames: number }> = [];
      const dial = await pair(async (stream) => {
        served.push(counted(stream));
        await serveSync(stream, own);
      });
      expect(await requestSync(await dial(), '', n)).toEqual(table);
      // Frames: [false], ⌈n/200⌉ entry chunks, n records (under 400 bytes each): n + 2 writes before.
      const limit = Math.ceil((n * 400) / WRITE_BYTES) + 1;
      expect(served[0]?.writes).toBeLessThanOrEqual(limit);
      expect(served[0]?.dataFrames).toBeLessThanOrEqual(limit);
      expect(await releasedReader(await dial(), n)).toEqual(table);
    }, 30_000);
  }

  it('reads a table written a frame at a time, as released agents write it', async () => {
    const table = tableOfSize(50);
    const dial = await pair(async (stream) => {
      for await (const _request of stream) break;
      const frames = [frame(encode([false])), frame(encode(['e', table.entries.map((e) => [e.id, e.incarnation, 0])]))];
      for (const r of table.records) frames.push(frame(encode(['r', r])));
      for (const f of frames) if (!stream.send(f)) await stream.onDrain();
      await stream.close();
    });
    expect(await requestSync(await dial(), '', 50)).toEqual(table);
  }, 30_000);

  it('pushes back its newer table in one write after the request', async () => {
    const table = tableOfSize(50);
    const pushed: Table[] = [];
    const dial = await pair((stream) =>
      serveSync(stream, () => ({ hash: 'x', table: () => ({ entries: [], records: [] }) }), undefined, {
        maxMembers: 50,
        onTable: (t) => pushed.push(t),
      }),
    );
    const stream = await dial();
    const c = counted(stream);
    await requestSync(stream, 'y', 50, [], () => table);
    expect(await waitFor('the push-back', () => pushed[0])).toEqual(table);
    // The request, then the whole table.
    expect(c.writes).toBe(2);
  }, 30_000);
});
