import { afterEach, describe, expect, it } from 'vitest';
import type { DigestEntry } from '../agent/membership/swim/types.ts';
import { handleSync, ownTable, pullTable, type Table } from '../agent/membership/sync.ts';
import { SyncDigests } from '../agent/membership/sync-digest.ts';
import type { PoolNode } from '../agent/p2p/node.ts';
import { FramedChannel } from '../agent/transport/channel.ts';
import { PeerRateLimit } from '../agent/transport/rate-limit.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { syncProtocol } from '../shared/wire/probe.ts';
import { startPoolNode } from './helpers/pool-node.ts';

/**
 * Anti-entropy's table hash on the long-lived probe stream (issue 13: a new sync stream every
 * 10 s, with its negotiation and peer-store merge, was a large share of an idle agent's CPU).
 * Real libp2p nodes on loopback, wired as memberChannels wires an agent.
 */

const POOL = 'digest-test';
const PROBE = `/poolparty/${POOL}/probe/2`;
const entry = (id: string, incarnation: number): DigestEntry => ({ id, incarnation, state: 'alive' });
const noRecords = { get: () => undefined, all: () => [] };

describe('sync digest over the probe stream (real libp2p pair)', () => {
  const nodes: PoolNode[] = [];
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    for (const n of nodes.splice(0)) await n.stop();
  });

  /** A node with the probe channel, and (unless `digests` is false: an older agent) the digest exchange. */
  async function member(key: Uint8Array, entries: DigestEntry[], digests = true) {
    const node = await startPoolNode(key);
    nodes.push(node);
    const other: string[] = [];
    const syncDials: string[] = [];
    const dial = node.dialProtocol.bind(node);
    node.dialProtocol = ((peer, protocols, opts) => {
      if (protocols === syncProtocol(POOL)) syncDials.push(String(peer));
      return dial(peer, protocols, opts);
    }) as PoolNode['dialProtocol'];
    const exchange: SyncDigests = new SyncDigests({ send: (to, bytes) => probes.send(to, bytes) });
    const probes: FramedChannel = new FramedChannel({
      node,
      protocol: PROBE,
      now: Date.now,
      limit: new PeerRateLimit(50, 200),
      dialTimeout: 2_000,
      onFrame: (_from, bytes) => {
        if (!(digests && exchange.receive(_from, bytes))) other.push(Buffer.from(bytes).toString('hex'));
      },
      onReject: () => undefined,
    });
    await probes.start();
    const own = () => ownTable(entries, noRecords);
    await handleSync(
      node,
      { pool: POOL, self: node.peerId.toString(), maxMembers: 100, own, ...(digests ? { digests: exchange } : {}) },
      () => undefined,
    );
    stops.push(() => probes.stop());
    return { node, id: node.peerId.toString(), own, other, syncDials, exchange: digests ? exchange : undefined };
  }

  const pull = (
    a: { node: PoolNode; own: () => { hash: string; table: () => Table }; exchange: SyncDigests | undefined },
    peer: string,
  ) =>
    pullTable(a.node, POOL, peer, {
      hash: a.own().hash,
      maxMembers: 100,
      held: undefined,
      mine: () => a.own().table(),
      ...(a.exchange ? { digests: a.exchange } : {}),
    });

  it('agreeing views: settled by one frame each way, no sync stream', async () => {
    const key = generatePoolKey();
    const table = [entry('x', 1), entry('y', 2)];
    const [a, b] = [await member(key, table), await member(key, table)];
    await a.node.dial(b.node.getMultiaddrs()[0] as Parameters<PoolNode['dial']>[0]);
    expect(await pull(a, b.id)).toBeNull();
    expect(await pull(a, b.id)).toBeNull();
    expect(a.syncDials).toEqual([]);
    // Neither side's probe inbox saw the exchange.
    expect([...a.other, ...b.other]).toEqual([]);
  });

  it('differing views: the table comes over /sync/2 as before', async () => {
    const key = generatePoolKey();
    const [a, b] = [await member(key, [entry('x', 1)]), await member(key, [entry('x', 2), entry('z', 1)])];
    await a.node.dial(b.node.getMultiaddrs()[0] as Parameters<PoolNode['dial']>[0]);
    const table = await pull(a, b.id);
    expect(table?.entries).toEqual([entry('x', 2), entry('z', 1)]);
    expect(a.syncDials).toHaveLength(1);
  });

  it('a peer that does not answer the hash (an older agent) is pulled from over /sync/2', async () => {
    const key = generatePoolKey();
    const table = [entry('x', 1)];
    const [a, b] = [await member(key, table), await member(key, table, false)];
    await a.node.dial(b.node.getMultiaddrs()[0] as Parameters<PoolNode['dial']>[0]);
    expect(await pull(a, b.id)).toBeNull();
    expect(a.syncDials).toHaveLength(1);
    // The older agent's inbox got the ask (and would reject it as an unknown frame).
    expect(b.other).toHaveLength(1);
  });

  it('malformed digest frames are taken and dropped; other frames are left to the probe inbox', () => {
    const exchange = new SyncDigests({ send: () => Promise.reject(new Error('must not answer')) });
    exchange.serve(() => 'h');
    // [16, 1, <a 65-char hash>]: too long; [16, "x", "h"]: no nonce; [17, 9, true]: nobody asked.
    const long = Uint8Array.from([0x83, 0x10, 0x01, 0x78, 65, ...new Uint8Array(65).fill(0x61)]);
    expect(exchange.receive('p', long)).toBe(true);
    expect(exchange.receive('p', Uint8Array.from([0x83, 0x10, 0x61, 0x78, 0x61, 0x68]))).toBe(true);
    expect(exchange.receive('p', Uint8Array.from([0x83, 0x11, 0x09, 0xf5]))).toBe(true);
    expect(exchange.receive('p', Uint8Array.from([0x83, 0x10]))).toBe(true);
    // A ping ([0, 7]) and a load report's head ([4, …]) are not the exchange's.
    expect(exchange.receive('p', Uint8Array.from([0x82, 0x00, 0x07]))).toBe(false);
    expect(exchange.receive('p', Uint8Array.from([0x83, 0x04, 0x01, 0xa0]))).toBe(false);
  });
});
