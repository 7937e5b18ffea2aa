import { connect, createServer, type Server, type Socket } from 'node:net';
import { multiaddr } from '@multiformats/multiaddr';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../agent/agent.ts';
import { handleSync, ownTable, pullTable } from '../agent/membership/sync.ts';
import { MAX_PENDING_INBOUND, type PoolNode } from '../agent/p2p/node.ts';
import { classifyDialError } from '../agent/transport/channel.ts';
import type { AgentTunables } from '../shared/config/tunables.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { waitFor } from './fixtures/wait.ts';
import { quietLog, TestPool } from './helpers/agents.ts';
import { startPoolNode } from './helpers/pool-node.ts';

/**
 * A seed in a join storm, on real libp2p nodes: it admits a bounded number of handshakes at a
 * time and turns the rest away at once (without that looking like a dead peer), and a joiner
 * waits for a seed that is slow to handshake instead of abandoning it half done.
 */

const TUNABLES: Partial<AgentTunables> = { heartbeatInterval: 500, suspectAfter: 1500, sampleInterval: 2000 };

const node = startPoolNode;

function portOf(addr: string): number {
  return Number(/\/tcp\/(\d+)/.exec(addr)?.[1]);
}

/** A TCP socket that the node has accepted and started a handshake on (its pnet nonce came), then says nothing. */
function silentHandshake(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.once('data', () => resolve(s));
    s.once('error', reject);
  });
}

/** Forwards connections to `port` after holding each for `holdMs`: a seed too busy to answer a handshake for that long. */
function slowProxy(port: number, holdMs: number): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.pause();
    client.on('error', () => undefined);
    const t = setTimeout(() => {
      const up = connect(port, '127.0.0.1', () => {
        client.pipe(up);
        up.pipe(client);
        client.resume();
      });
      sockets.add(up);
      up.on('error', () => client.destroy());
      client.on('close', () => up.destroy());
    }, holdMs);
    client.on('close', () => clearTimeout(t));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a ? a.port : 0, sockets });
    }),
  );
}

describe('a seed in a join storm (real libp2p nodes)', () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  /** Two started nodes of one pool, stopped after the test. */
  const twoNodes = async (): Promise<[PoolNode, PoolNode]> => {
    const key = generatePoolKey();
    const pair: [PoolNode, PoolNode] = [await node(key), await node(key)];
    cleanups.push(...pair.map((n) => () => n.stop()));
    return pair;
  };

  it(`admits ${MAX_PENDING_INBOUND} handshakes at a time, turns the next dial away at once with no evidence of death, and admits it once they end`, async () => {
    const [seed, joiner] = await twoNodes();
    const addr = seed.getMultiaddrs()[0]!;
    const held = await Promise.all(
      Array.from({ length: MAX_PENDING_INBOUND }, () => silentHandshake(portOf(addr.toString()))),
    );
    cleanups.push(() => {
      for (const s of held) s.destroy();
    });

    const turnedAway = await joiner.dial(addr, { signal: AbortSignal.timeout(15_000) }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(turnedAway).not.toBeNull();
    // The seed is alive: a probe dial turned away like this must not count as a refusal.
    expect(classifyDialError(turnedAway)).not.toBe('refused');

    for (const s of held) s.destroy();
    const conn = await waitFor('the seed to admit the joiner once the handshakes ended', () =>
      joiner.dial(addr, { signal: AbortSignal.timeout(5_000) }),
    );
    expect(conn.remotePeer.toString()).toBe(seed.peerId.toString());
  }, 60_000);

  it('a joiner whose seed takes 8 s to answer its handshake (libp2p abandons an address after 6 s) still joins', async () => {
    const pool = await TestPool.create();
    cleanups.push(() => pool.cleanup());
    const seed = new Agent(pool.config('seed', {}, TUNABLES), { log: quietLog });
    pool.agents.push(seed);
    await seed.start();
    const seedAddr = seed.multiaddrs[0] as string;
    const proxy = await slowProxy(portOf(seedAddr), 8_000);
    cleanups.push(() => {
      for (const s of proxy.sockets) s.destroy();
      return new Promise((r) => proxy.server.close(r));
    });
    const via = `/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${seed.peerId}`;
    const joiner = new Agent(pool.config('joiner', { bootstrap: [via] }, TUNABLES), { log: quietLog });
    pool.agents.push(joiner);
    await joiner.start();
    await waitFor(
      'the joiner and the seed to see each other alive',
      () => [seed, joiner].every((a) => a.cluster().members.filter((m) => m.state === 'alive').length === 2),
      { timeoutMs: 60_000, everyMs: 250 },
    );
  }, 90_000);

  it('an anti-entropy pull from a member that takes 8 s to answer a new handshake still gets its table', async () => {
    const [member, puller] = await twoNodes();
    const self = member.peerId.toString();
    const entries = [{ id: self, incarnation: 3, state: 'alive' as const }];
    await handleSync(
      member,
      { pool: 'p', self, maxMembers: 16, own: () => ownTable(entries, { get: () => undefined, all: () => [] }) },
      () => undefined,
    );
    const proxy = await slowProxy(portOf(member.getMultiaddrs()[0]!.toString()), 8_000);
    cleanups.push(() => {
      for (const s of proxy.sockets) s.destroy();
      return new Promise((r) => proxy.server.close(r));
    });
    // The puller knows the member only through the slow path, as a member it has never connected to.
    await puller.peerStore.merge(member.peerId, { multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${proxy.port}`)] });
    const table = await pullTable(puller, 'p', self, { hash: 'ours differs', maxMembers: 16, held: undefined });
    expect(table?.entries).toEqual(entries);
  }, 60_000);
});
