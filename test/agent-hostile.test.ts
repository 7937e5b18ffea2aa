import { multiaddr } from '@multiformats/multiaddr';
import { encode as encodeCbor } from 'cborg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolNode } from '../agent/p2p/node.ts';
import { generatePoolKey, readPoolKey } from '../shared/pool-key.ts';
import { encodeMessage } from '../shared/wire/codec.ts';
import { type Heartbeat, membersTopic } from '../shared/wire/heartbeat.ts';
import { waitFor } from './fixtures/wait.ts';
import { allAlive, TestPool } from './helpers/agents.ts';
import { startPoolNode } from './helpers/pool-node.ts';

/** A peer that speaks the agent's protocols by hand; large messages allowed so it can send oversized ones. */
const rogue = (poolKey: Uint8Array): Promise<PoolNode> =>
  startPoolNode(poolKey, { maxConnections: 8, maxMessageBytes: 1 << 20 });

async function counter(url: string, name: string, label: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${label}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('hostile and foreign peers', () => {
  let pool: TestPool;
  const extra: PoolNode[] = [];

  beforeAll(async () => {
    pool = await TestPool.create();
    await pool.start('a1');
    await pool.start('a2');
    await waitFor('2 agents converge', () => pool.agents.every((a) => allAlive(a.cluster(), 2)));
  });
  afterAll(async () => {
    await Promise.allSettled(extra.map((n) => n.stop()));
    await pool?.cleanup();
  });

  it('a process without the pool key cannot connect at all', async () => {
    const outsider = await rogue(generatePoolKey());
    extra.push(outsider);
    const target = multiaddr(pool.agents[0]?.multiaddrs[0] as string);
    await expect(outsider.dial(target)).rejects.toThrow();
    expect(outsider.getConnections()).toHaveLength(0);
    expect(pool.agents[0]?.connectedPeers()).not.toContain(outsider.peerId.toString());
  });

  it('malformed, oversized, spoofed and replayed heartbeats are rejected and counted; the agent keeps running', async () => {
    const agent = pool.agents[0];
    if (!agent) throw new Error('no agent');
    const bad = await rogue(await readPoolKey(pool.keyFile));
    extra.push(bad);
    const topic = membersTopic(pool.pool);
    bad.services.pubsub.subscribe(topic);
    await bad.dial(multiaddr(agent.multiaddrs[0] as string));
    await waitFor('agent subscribed as seen by rogue', () =>
      bad.services.pubsub.getSubscribers(topic).some((p) => p.toString() === agent.peerId),
    );
    // Sent before the rogue grafted the agent into its mesh, the messages could be only gossiped
    // about. The mesh is on the implementation, not on the GossipSub interface.
    const mesh = bad.services.pubsub as unknown as { getMeshPeers(topic: string): string[] };
    await waitFor('the agent in the rogue mesh', () => mesh.getMeshPeers(topic).includes(agent.peerId));

    const me = bad.peerId.toString();
    const valid: Heartbeat = {
      v: 2,
      type: 'heartbeat',
      peerId: me,
      instanceId: 'rogue',
      cloud: 'web',
      addrs: [],
      monitor: '',
      startedAt: 1,
      seq: 100,
      version: '0.1.0',
      metrics: { load: 0.1 },
    };
    const send = (data: Uint8Array) => bad.services.pubsub.publish(topic, data);
    await send(encodeCbor({ v: 2, type: 'heartbeat', peerId: 42 }));
    await send(new Uint8Array([0xff, 0xff, 0x00]));
    await send(new Uint8Array(300_000).fill(0x20));
    await send(encodeMessage({ ...valid, peerId: agent.peerId }));
    await send(encodeMessage(valid));
    await send(
      encodeMessage({ v: 2, type: 'update', peerId: me, seq: 101, update: { kind: 'alive', id: me, incarnation: 0 } }),
    );
    await send(encodeMessage({ ...valid, seq: 50, instanceId: 'replayed' }));

    const url = agent.monitorUrl;
    await waitFor('rejections counted', async () => {
      const [schema, json, large, spoofed, stale] = await Promise.all([
        counter(url, 'poolparty_heartbeats_rejected_total', 'reason="schema"'),
        counter(url, 'poolparty_heartbeats_rejected_total', 'reason="not-cbor"'),
        counter(url, 'poolparty_heartbeats_rejected_total', 'reason="too-large"'),
        counter(url, 'poolparty_heartbeats_rejected_total', 'reason="spoofed"'),
        counter(url, 'poolparty_heartbeats_rejected_total', 'reason="stale"'),
      ]);
      return schema >= 1 && json >= 1 && large >= 1 && spoofed >= 1 && stale >= 1;
    });
    // The valid heartbeat was accepted; the replay did not overwrite it.
    const rogueView = agent.cluster().members.find((m) => m.peerId === me);
    expect(rogueView?.instanceId).toBe('rogue');
    const health = await (await fetch(`${url}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', peerId: agent.peerId });
    expect(agent.cluster().members.filter((m) => m.state === 'alive').length).toBeGreaterThanOrEqual(2);
  });
});
