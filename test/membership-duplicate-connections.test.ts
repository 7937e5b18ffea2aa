import type { Connection } from '@libp2p/interface';
import { afterEach, describe, expect, it } from 'vitest';
import { DIAL_DEFER_MS, DialOrder } from '../agent/membership/dial-order.ts';
import { DUPLICATE_GRACE_MS, duplicatesToClose } from '../agent/membership/duplicates.ts';
import { keepConnections } from '../agent/membership/neighbours.ts';
import type { PoolNode } from '../agent/p2p/node.ts';
import { FramedChannel } from '../agent/transport/channel.ts';
import { frame } from '../agent/transport/frames.ts';
import { PeerRateLimit } from '../agent/transport/rate-limit.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { probeProtocol } from '../shared/wire/probe.ts';
import { waitFor } from './fixtures/wait.ts';
import { startPoolNode } from './helpers/pool-node.ts';

/**
 * Both ends of a new ring edge dialled each other in the same maintain() round, so a pair held
 * two TCP connections (issue 13: "≤ 16 connections per agent" counts TCP connections). Two real
 * libp2p nodes: when both want the edge at once only the smaller peer id dials; the larger one
 * dials after DIAL_DEFER_MS when the other does not; a duplicate that carries only the probe
 * stream closes, and probes and gossip still flow both ways.
 */

const TOPIC = 'dup-test';
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const openConns = (n: PoolNode) => n.getConnections().filter((c) => c.status === 'open');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('one connection per pair of members', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function member(key: Uint8Array) {
    const frames: string[] = [];
    const gossip: string[] = [];
    const node = await startPoolNode(key);
    stops.push(async () => node.stop());
    const channel = new FramedChannel({
      node,
      protocol: probeProtocol('dup'),
      now: Date.now,
      limit: new PeerRateLimit(1000, 1000),
      onFrame: (_from, f) => frames.push(text(f)),
      onReject: () => undefined,
      dialTimeout: 5_000,
    });
    await channel.start();
    stops.push(async () => channel.stop());
    node.services.pubsub.subscribe(TOPIC);
    node.services.pubsub.addEventListener('message', (e) => gossip.push(text(e.detail.data)));
    const id = node.peerId.toString();
    return { node, channel, id, frames, gossip, order: new DialOrder(id) };
  }

  /** Two members, `small` with the smaller peer id, each knowing where the other listens. */
  async function pair() {
    const key = generatePoolKey();
    const [x, y] = [await member(key), await member(key)];
    const [small, large] = x.id < y.id ? [x, y] : [y, x];
    await small.node.peerStore.merge(large.node.peerId, { multiaddrs: large.node.getMultiaddrs() });
    await large.node.peerStore.merge(small.node.peerId, { multiaddrs: small.node.getMultiaddrs() });
    return { small, large };
  }

  type Member = Awaited<ReturnType<typeof member>>;
  const keep = (m: Member, other: Member, now: number) =>
    keepConnections(m.node, new Set([other.id]), () => true, 16, now, m.order);

  it('when both ends want a new edge in the same round only the smaller peer id dials', async () => {
    const { small, large } = await pair();
    const now = Date.now();
    keep(small, large, now);
    keep(large, small, now);
    await waitFor('connected', () => openConns(small.node).length > 0 && openConns(large.node).length > 0);
    await sleep(1_000);
    expect(openConns(small.node).map((c) => c.direction)).toEqual(['outbound']);
    expect(openConns(large.node).map((c) => c.direction)).toEqual(['inbound']);
    // Past the wait the larger end finds the connection and dials nothing.
    keep(large, small, now + DIAL_DEFER_MS);
    await sleep(500);
    expect(openConns(large.node)).toHaveLength(1);
  });

  it('an edge only the larger peer id wants forms once DIAL_DEFER_MS has passed', async () => {
    const { small, large } = await pair();
    const now = Date.now();
    keep(large, small, now);
    keep(large, small, now + DIAL_DEFER_MS - 1);
    await sleep(500);
    expect(openConns(large.node)).toHaveLength(0);
    keep(large, small, now + DIAL_DEFER_MS);
    await waitFor('the larger end dialled', () => openConns(large.node).some((c) => c.direction === 'outbound'));
  });

  it('a duplicate carrying only probe streams closes; probes and gossip still flow both ways', async () => {
    const { small: a, large: b } = await pair();
    await a.node.dial(b.node.peerId);
    await waitFor('gossip streams both ways', () =>
      [a.node.services.pubsub.getSubscribers(TOPIC), b.node.services.pubsub.getSubscribers(TOPIC)].every(
        (s) => s.length === 1,
      ),
    );
    // The other end dials too (a probe or a sync racing the first handshake), and a probe uses it.
    const dup = await b.node.dial(a.node.peerId, { force: true });
    const stream = await dup.newStream(probeProtocol('dup'));
    stream.send(frame(new TextEncoder().encode('on-dup')));
    await waitFor('frame on the duplicate', () => a.frames.includes('on-dup'));
    await waitFor(
      'two connections on each side',
      () => openConns(a.node).length === 2 && openConns(b.node).length === 2,
    );

    keep(a, b, Date.now());
    keep(b, a, Date.now());
    await sleep(500);
    expect(openConns(a.node)).toHaveLength(2); // younger than the grace

    const later = Date.now() + DUPLICATE_GRACE_MS;
    keep(a, b, later);
    keep(b, a, later);
    await waitFor(
      'one connection on each side',
      () => openConns(a.node).length === 1 && openConns(b.node).length === 1,
    );
    expect(openConns(b.node)[0]?.id).not.toBe(dup.id);

    await waitFor('frames both ways after', async () => {
      await Promise.all([
        a.channel.send(b.id, new TextEncoder().encode('ab')).catch(() => undefined),
        b.channel.send(a.id, new TextEncoder().encode('ba')).catch(() => undefined),
      ]);
      return b.frames.includes('ab') && a.frames.includes('ba');
    });
    let n = 0;
    await waitFor('gossip both ways after', async () => {
      n++;
      await a.node.services.pubsub.publish(TOPIC, new TextEncoder().encode(`ab-${n}`)).catch(() => undefined);
      await b.node.services.pubsub.publish(TOPIC, new TextEncoder().encode(`ba-${n}`)).catch(() => undefined);
      return b.gossip.some((m) => m.startsWith('ab-')) && a.gossip.some((m) => m.startsWith('ba-'));
    });
    expect(openConns(a.node)).toHaveLength(1);
  });
});

describe('which duplicate closes', () => {
  const GOSSIP = '/meshsub/1.1.0';
  const PROBE = '/poolparty/dup/probe/2';
  type S = [direction: 'inbound' | 'outbound', protocol: string];
  const conn = (id: string, open: number, streams: S[]) =>
    ({
      id,
      status: 'open',
      timeline: { open },
      streams: streams.map(([direction, protocol]) => ({ direction, protocol })),
    }) as unknown as Connection;
  const now = 100_000;
  const old = now - DUPLICATE_GRACE_MS;
  const ids = (cs: Connection[]) => cs.map((c) => c.id);

  it('closes the one without gossip once past the grace, when the other carries gossip both ways', () => {
    const kept = conn('k', old, [
      ['outbound', GOSSIP],
      ['inbound', GOSSIP],
    ]);
    expect(
      ids(
        duplicatesToClose(
          [
            kept,
            conn('d', old, [
              ['inbound', PROBE],
              ['outbound', '/ipfs/id/1.0.0'],
            ]),
          ],
          now,
        ),
      ),
    ).toEqual(['d']);
    expect(duplicatesToClose([kept, conn('d', old + 1, [])], now)).toEqual([]);
  });

  it('keeps both when each carries one direction of gossip, or neither carries any yet', () => {
    const split = [
      conn('x', old, [['outbound', GOSSIP]]),
      conn('y', old, [
        ['inbound', GOSSIP],
        ['outbound', PROBE],
      ]),
    ];
    expect(duplicatesToClose(split, now)).toEqual([]);
    expect(duplicatesToClose([conn('x', old, [['outbound', PROBE]]), conn('y', old, [])], now)).toEqual([]);
  });

  it('keeps a duplicate carrying another stream (a sync)', () => {
    const kept = conn('k', old, [
      ['outbound', GOSSIP],
      ['inbound', GOSSIP],
    ]);
    expect(duplicatesToClose([kept, conn('s', old, [['outbound', '/poolparty/dup/sync/2']])], now)).toEqual([]);
  });
});

describe('dial order', () => {
  it('the larger peer id waits DIAL_DEFER_MS from the first round the peer was wanted, and again after it was connected', () => {
    const order = new DialOrder('b');
    expect(order.due('c', 0)).toBe(true);
    expect(order.due('a', 0)).toBe(false);
    expect(order.due('a', DIAL_DEFER_MS - 1)).toBe(false);
    expect(order.due('a', DIAL_DEFER_MS)).toBe(true);
    order.retain(new Set()); // connected, or no longer wanted
    expect(order.size).toBe(0);
    expect(order.due('a', 2 * DIAL_DEFER_MS)).toBe(false);
  });
});
