import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from 'cborg';
import { afterEach, describe, expect, it } from 'vitest';
import { Membership } from '../agent/membership/membership.ts';
import { defaultSwimConfig } from '../agent/membership/swim/config.ts';
import type { PoolNode } from '../agent/p2p/node.ts';
import { FramedChannel } from '../agent/transport/channel.ts';
import { PeerRateLimit } from '../agent/transport/rate-limit.ts';
import { ensurePoolKey } from '../shared/pool-key.ts';
import { type Heartbeat, membersTopic } from '../shared/wire/heartbeat.ts';
import { probeProtocol, syncProtocol } from '../shared/wire/probe.ts';
import { waitFor } from './fixtures/wait.ts';
import { startPoolNode } from './helpers/pool-node.ts';
import { memberRecord } from './helpers/records.ts';

/**
 * A member's own record pushed point to point (issue 15, heal to one leader; record-push.ts): a
 * leader that steps down cannot wait for gossip or anti-entropy to tell its followers. Two real
 * members on libp2p; then A's messages on the members topic are dropped (as when its mesh or its
 * view of who subscribes does not include B) and neither serves anti-entropy, so nothing but the
 * push can carry A's new record to B.
 */

const POOL = 'p';
const none = () => undefined;
const QUIET = { maxMessageBytes: 1 << 16, onFrame: none, onBytes: none, log: none, maxConnections: 16 };

describe('a record pushed point to point', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  });

  async function member(key: Uint8Array, bootstrap: string[], rejects: string[] = []) {
    const node = await startPoolNode(key);
    stops.push(async () => node.stop());
    const self = node.peerId.toString();
    const fields: Partial<Heartbeat> = { term: 1, leads: 1 };
    const addrs = () => node.getMultiaddrs().map((a) => a.toString().split('/p2p/')[0] as string);
    const membership = new Membership({
      node,
      pool: POOL,
      self,
      // Anti-entropy far apart: within the test only gossip or the push can carry a record.
      swim: { ...defaultSwimConfig(), syncInterval: 600_000 },
      now: Date.now,
      bootstrap,
      record: () => ({ ...memberRecord(self, { addrs: addrs(), instanceId: `i-${self.slice(-8)}` }), ...fields }),
      onEvent: none,
      onReject: (reason, detail) => rejects.push(`${reason}: ${detail}`),
      ...QUIET,
    });
    await membership.start();
    stops.push(() => membership.stop({ leave: false, grace: 0 }));
    return { node, self, membership, fields, addr: node.getMultiaddrs()[0]!.toString() };
  }

  /** Drops every message `node` publishes on the members topic from now on. */
  function muteTopic(node: PoolNode): void {
    const pubsub = node.services.pubsub;
    const publish = pubsub.publish.bind(pubsub);
    pubsub.publish = (topic: string, data?: Uint8Array) =>
      topic === membersTopic(POOL) ? Promise.resolve({ recipients: [] }) : publish(topic, data);
  }

  async function pair() {
    const dir = await mkdtemp(join(tmpdir(), 'poolparty-push-'));
    stops.push(() => rm(dir, { recursive: true, force: true }));
    const { key } = await ensurePoolKey(join(dir, 'pool.key'));
    const rejects: string[] = [];
    const a = await member(key, []);
    const b = await member(key, [a.addr], rejects);
    await waitFor('A and B hold each other, A claiming', () => b.membership.record(a.self)?.leads === 1, {
      timeoutMs: 30_000,
    });
    await waitFor('A holds B', () => a.membership.record(b.self) !== undefined, { timeoutMs: 30_000 });
    muteTopic(a.node);
    for (const m of [a, b]) await m.node.unhandle(syncProtocol(POOL));
    return { key, a, b, rejects };
  }

  it('reaches the peer when gossip does not: its step-down is seen at once, seq-ordered', async () => {
    const { a, b } = await pair();
    const before = b.membership.record(a.self)?.seq ?? 0;
    // A steps down: its record drops the claim. Published only (the topic is muted): B never sees it.
    delete a.fields.leads;
    a.membership.refreshRecord();
    await new Promise((r) => setTimeout(r, 1500));
    expect(b.membership.record(a.self)?.leads).toBe(1);
    // Pushed: B holds it within moments (the probe stream is open; no gossip, no sync).
    const pushedAt = Date.now();
    a.membership.pushRecord([b.self, a.self, b.self]);
    await waitFor('B to hold A’s record without the claim', () => b.membership.record(a.self)?.leads === undefined, {
      timeoutMs: 5_000,
      everyMs: 10,
    });
    console.log(JSON.stringify({ test: 'record-push', seenMs: Date.now() - pushedAt }));
    expect(b.membership.record(a.self)?.seq).toBeGreaterThan(before);
  }, 60_000);

  it('is the sender’s own: a record of another member pushed by a key holder is refused', async () => {
    const { key, a, b, rejects } = await pair();
    const held = b.membership.record(a.self) as Heartbeat;
    // A third key holder, on its own probe stream to B, pushes A's record (newer, claiming more) as if A's.
    const rogue = await startPoolNode(key);
    stops.push(async () => rogue.stop());
    const channel = new FramedChannel({
      node: rogue,
      protocol: probeProtocol(POOL),
      now: Date.now,
      limit: new PeerRateLimit(50, 200),
      dialTimeout: 2_000,
      onFrame: none,
      onReject: none,
    });
    await channel.start();
    stops.push(() => channel.stop());
    await rogue.dial(b.node.getMultiaddrs()[0]!);
    const forged: Heartbeat = { ...held, seq: held.seq + 10, term: 9, leads: 9 };
    await channel.send(b.self, encode([18, forged]));
    await waitFor('the forged push to be refused', () => rejects.some((r) => r.startsWith('spoofed: record of')), {
      timeoutMs: 10_000,
    });
    expect(b.membership.record(a.self)).toEqual(held);
  }, 60_000);
});
