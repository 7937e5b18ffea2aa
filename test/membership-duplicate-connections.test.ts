import { afterEach, describe, expect, it } from 'vitest';
import { DUPLICATE_GRACE_MS } from '../agent/membership/duplicates.ts';
import { keepConnections } from '../agent/membership/neighbours.ts';
import type { PoolNode } from '../agent/p2p/node.ts';
import { FramedChannel } from '../agent/transport/channel.ts';
import { PeerRateLimit } from '../agent/transport/rate-limit.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { probeProtocol } from '../shared/wire/probe.ts';
import { waitFor } from './fixtures/wait.ts';
import { startPoolNode } from './helpers/pool-node.ts';

/**
 * Both ends of a new ring edge dial each other in the same maintain() round, so a pair held two
 * TCP connections (issue 13: "≤ 16 connections per agent" counts TCP connections). Two real
 * libp2p nodes dial each other at once; keepConnections on both keeps the same one, and the
 * probe channel and gossipsub still carry traffic both ways afterwards.
 */

const TOPIC = 'dup-test';
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('duplicate connections between two members', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  async function member(key: Uint8Array, frames: string[], gossip: string[]) {
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
    return { node, channel, id: node.peerId.toString() };
  }

  const openConns = (n: PoolNode) => n.getConnections().filter((c) => c.status === 'open');

  /** Both dial at once: each side holds its outbound connection, and the other's inbound one a moment later. */
  async function dialEachOther(a: PoolNode, b: PoolNode): Promise<void> {
    await Promise.all([
      a.dial(b.getMultiaddrs()[0] as Parameters<PoolNode['dial']>[0]),
      b.dial(a.getMultiaddrs()[0] as Parameters<PoolNode['dial']>[0]),
    ]);
    await waitFor('two connections on each side', () => openConns(a).length === 2 && openConns(b).length === 2);
  }

  it('two members that dial each other at once end with one connection, the same on both sides, and still talk', async () => {
    const key = generatePoolKey();
    const fa: string[] = [];
    const fb: string[] = [];
    const ga: string[] = [];
    const gb: string[] = [];
    const a = await member(key, fa, ga);
    const b = await member(key, fb, gb);
    await dialEachOther(a.node, b.node);
    // Streams on both connections before the duplicate goes: the probe channel and gossipsub.
    await a.channel.send(b.id, new TextEncoder().encode('before'));
    await waitFor('frame before', () => fb.includes('before'));
    await waitFor('gossip streams both ways', () =>
      [a.node.services.pubsub.getSubscribers(TOPIC), b.node.services.pubsub.getSubscribers(TOPIC)].every(
        (s) => s.length === 1,
      ),
    );

    const later = Date.now() + DUPLICATE_GRACE_MS + 1_000;
    keepConnections(a.node, new Set([b.id]), () => true, 16, later);
    keepConnections(b.node, new Set([a.id]), () => true, 16, later);
    await waitFor('one connection on each side', () =>
      openConns(a.node).length === 1 && openConns(b.node).length === 1 ? true : undefined,
    );
    // The kept one is the connection the smaller peer id dialled, as seen from both ends.
    const smallerDialled = a.id < b.id ? ['outbound', 'inbound'] : ['inbound', 'outbound'];
    expect([openConns(a.node)[0]?.direction, openConns(b.node)[0]?.direction]).toEqual(smallerDialled);
    await new Promise((r) => setTimeout(r, 500));
    expect(openConns(a.node)).toHaveLength(1);
    expect(openConns(b.node)).toHaveLength(1);

    // Probe frames move to the kept connection (the first send may meet the closing stream).
    await waitFor('frames both ways after', async () => {
      await Promise.all([
        a.channel.send(b.id, new TextEncoder().encode('after-ab')).catch(() => undefined),
        b.channel.send(a.id, new TextEncoder().encode('after-ba')).catch(() => undefined),
      ]);
      return fb.includes('after-ab') && fa.includes('after-ba');
    });
    // Gossipsub has a stream to the peer on the kept connection, both ways.
    let n = 0;
    await waitFor('gossip both ways after', async () => {
      n++;
      await a.node.services.pubsub.publish(TOPIC, new TextEncoder().encode(`ab-${n}`)).catch(() => undefined);
      await b.node.services.pubsub.publish(TOPIC, new TextEncoder().encode(`ba-${n}`)).catch(() => undefined);
      return gb.some((m) => m.startsWith('ab-')) && ga.some((m) => m.startsWith('ba-'));
    });
    expect(openConns(a.node)).toHaveLength(1);
  });

  it('a duplicate younger than the grace stays', async () => {
    const key = generatePoolKey();
    const a = await member(key, [], []);
    const b = await member(key, [], []);
    await dialEachOther(a.node, b.node);
    keepConnections(a.node, new Set([b.id]), () => true, 16, Date.now());
    keepConnections(b.node, new Set([a.id]), () => true, 16, Date.now());
    await new Promise((r) => setTimeout(r, 500));
    expect(openConns(a.node)).toHaveLength(2);
  });
});
