import type { Stream } from '@libp2p/interface';
import { afterEach, describe, expect, it } from 'vitest';
import type { PoolNode } from '../agent/p2p/node.ts';
import { FramedChannel, SendError } from '../agent/transport/channel.ts';
import { PeerRateLimit } from '../agent/transport/rate-limit.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { waitFor } from './fixtures/wait.ts';
import { startPoolNode } from './helpers/pool-node.ts';

/**
 * A frame sent while the peer's stream has been opening for dialTimeout or more goes on a new open
 * instead of joining the late one (issue 13: a follower's next load report joined the dial that
 * lost its first, under load, and both were lost). Two real libp2p nodes on loopback; the sender's
 * first open is held by the test (a dial the event loop let outlive its timeout), and the channel's
 * clock is the test's.
 */

const PROTOCOL = '/poolparty/test/late-dial/1';
const DIAL_TIMEOUT = 2_000;
const bytes = (i: number) => new TextEncoder().encode(`frame-${i}`);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('FramedChannel: a late open takes no new frames (real libp2p pair)', () => {
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
    let clock = 1_000_000;
    // The first open is held until the test lets it go (or fails it); later ones pass.
    let held: { go: () => void; fail: (err: Error) => void } | undefined;
    let opens = 0;
    const dial = a.dialProtocol.bind(a);
    a.dialProtocol = ((...args: Parameters<PoolNode['dialProtocol']>) => {
      if (++opens > 1) return dial(...args);
      return new Promise<Stream>((resolve, reject) => {
        held = { go: () => dial(...args).then(resolve, reject), fail: reject };
      });
    }) as PoolNode['dialProtocol'];
    const received: string[] = [];
    const channel = (node: PoolNode) =>
      new FramedChannel({
        node,
        protocol: PROTOCOL,
        now: () => clock,
        limit: new PeerRateLimit(1000, 1000),
        onFrame: (_from, f) => received.push(text(f)),
        onReject: () => undefined,
        dialTimeout: DIAL_TIMEOUT,
      });
    const [sender, receiver] = [channel(a), channel(b)];
    channels.push(sender, receiver);
    await Promise.all([sender.start(), receiver.start()]);
    await a.dial(b.getMultiaddrs()[0] as Parameters<PoolNode['dial']>[0]);
    const outbound = () =>
      a
        .getConnections(b.peerId)
        .flatMap((c) => c.streams)
        .filter((s) => s.protocol === PROTOCOL && s.direction === 'outbound' && s.status === 'open').length;
    return {
      sender,
      peer: b.peerId.toString(),
      received,
      opens: () => opens,
      outbound,
      advance: (ms: number) => {
        clock += ms;
      },
      held: () => held as NonNullable<typeof held>,
    };
  }

  it('a frame past dialTimeout goes on a new open and arrives; the late open fails alone', async () => {
    const p = await pair();
    const first = p.sender.send(p.peer, bytes(0));
    const firstSettled = first.then(
      () => 'sent',
      (e: unknown) => e,
    );
    // Before dialTimeout: frames still join the opening batch.
    p.advance(DIAL_TIMEOUT - 1);
    const joined = p.sender.send(p.peer, bytes(1)).catch((e: unknown) => e);
    expect(p.opens()).toBe(1);
    // Past it: the next frame opens anew and does not wait for the late open.
    p.advance(1);
    const next = p.sender.send(p.peer, bytes(2));
    expect(p.opens()).toBe(2);
    await next;
    await waitFor('the frame on the new open at the receiver', () => p.received.includes('frame-2'), {
      timeoutMs: 5_000,
    });
    // The late open times out at last: only its own frames fail.
    p.held().fail(Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }));
    const [r0, r1] = [await firstSettled, await joined];
    for (const r of [r0, r1]) {
      expect(r).toBeInstanceOf(SendError);
      expect((r as SendError).failure).toBe('timeout');
    }
    expect(p.received).toEqual(['frame-2']);
    // Later frames use the new stream.
    await p.sender.send(p.peer, bytes(3));
    expect(p.opens()).toBe(2);
    await waitFor('frame-3 at the receiver', () => p.received.includes('frame-3'), { timeoutMs: 5_000 });
  });

  it('a late open that does complete carries its own frames, then closes: one outbound stream stays', async () => {
    const p = await pair();
    const first = p.sender.send(p.peer, bytes(0));
    p.advance(DIAL_TIMEOUT);
    await p.sender.send(p.peer, bytes(1));
    p.held().go();
    await first;
    await waitFor('both frames at the receiver', () => p.received.length === 2, { timeoutMs: 5_000 });
    expect([...p.received].sort()).toEqual(['frame-0', 'frame-1']);
    await waitFor('one outbound probe stream', () => p.outbound() === 1, { timeoutMs: 5_000 });
    await p.sender.send(p.peer, bytes(2));
    expect(p.opens()).toBe(2);
    await waitFor('frame-2 at the receiver', () => p.received.includes('frame-2'), { timeoutMs: 5_000 });
  }, 20_000);
});
