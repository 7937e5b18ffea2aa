import type { Stream } from '@libp2p/interface';
import { afterEach, describe, expect, it } from 'vitest';
import type { PoolNode } from '../agent/p2p/node.ts';
import { FramedChannel, SendError } from '../agent/transport/channel.ts';
import { PeerRateLimit } from '../agent/transport/rate-limit.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { waitFor } from './fixtures/wait.ts';
import { startPoolNode } from './helpers/pool-node.ts';

/**
 * Frames sent to one peer in the same synchronous run go out as one write (issue 13: an idle
 * agent's CPU went mostly to one noise encryption and socket write per frame). Two real libp2p
 * nodes on loopback; the sender's outbound stream is wrapped to count its writes.
 */

const PROTOCOL = '/poolparty/test/batch/1';
const bytes = (i: number) => new TextEncoder().encode(`frame-${i}`);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('FramedChannel batching (real libp2p pair)', () => {
  const nodes: PoolNode[] = [];
  const channels: FramedChannel[] = [];
  afterEach(async () => {
    for (const c of channels.splice(0)) await c.stop();
    for (const n of nodes.splice(0)) await n.stop();
  });

  async function pair() {
    const key = generatePoolKey();
    const [a, b] = [await startPoolNode(key), await startPoolNode(key)];
    nodes.push(a, b);
    const writes: number[] = [];
    let fail: Error | undefined;
    // Count (and on demand fail) the writes on the sender's outbound streams.
    const dial = a.dialProtocol.bind(a);
    a.dialProtocol = (async (...args: Parameters<PoolNode['dialProtocol']>) => {
      const stream: Stream = await dial(...args);
      const send = stream.send.bind(stream);
      stream.send = (data) => {
        writes.push(data.byteLength);
        if (fail) throw fail;
        return send(data);
      };
      return stream;
    }) as PoolNode['dialProtocol'];
    const received: string[] = [];
    const channel = (node: PoolNode) =>
      new FramedChannel({
        node,
        protocol: PROTOCOL,
        now: Date.now,
        limit: new PeerRateLimit(1000, 1000),
        onFrame: (_from, f) => received.push(text(f)),
        onReject: () => undefined,
        dialTimeout: 5_000,
      });
    const [sender, receiver] = [channel(a), channel(b)];
    channels.push(sender, receiver);
    await Promise.all([sender.start(), receiver.start()]);
    await a.dial(b.getMultiaddrs()[0] as Parameters<PoolNode['dial']>[0]);
    return {
      sender,
      peer: b.peerId.toString(),
      writes,
      received,
      failNext: (err: Error) => {
        fail = err;
      },
    };
  }

  it('several sends in one run → one write; every frame delivered, in order', async () => {
    const { sender, peer, writes, received } = await pair();
    // The first batch also waits for the stream to open.
    await Promise.all([0, 1, 2].map((i) => sender.send(peer, bytes(i))));
    expect(writes).toHaveLength(1);
    // On an open stream too.
    await Promise.all([3, 4, 5, 6].map((i) => sender.send(peer, bytes(i))));
    expect(writes).toHaveLength(2);
    // A send after the batch was written is the next batch.
    await sender.send(peer, bytes(7));
    expect(writes).toHaveLength(3);
    const all = Array.from({ length: 8 }, (_, i) => `frame-${i}`);
    await waitFor('every frame at the receiver', () => received.length === all.length, { timeoutMs: 10_000 });
    expect(received).toEqual(all);
    // Each frame is its 2-byte length and payload: the first write carried three.
    expect(writes[0]).toBe(3 * (2 + bytes(0).byteLength));
  });

  it('a failed write rejects every send of its batch with a SendError', async () => {
    const { sender, peer, writes, received, failNext } = await pair();
    await sender.send(peer, bytes(0));
    failNext(new Error('write failed'));
    const results = await Promise.allSettled([1, 2, 3].map((i) => sender.send(peer, bytes(i))));
    expect(writes).toHaveLength(2);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(SendError);
    }
    await waitFor('the first frame at the receiver', () => received.length === 1, { timeoutMs: 10_000 });
    expect(received).toEqual(['frame-0']);
  });

  it('a frame too large for the framing rejects alone, before any write', async () => {
    const { sender, peer, writes } = await pair();
    await expect(sender.send(peer, new Uint8Array(17 * 1024))).rejects.toThrow(RangeError);
    expect(writes).toHaveLength(0);
  });
});
