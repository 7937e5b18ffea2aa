import { multiaddr } from '@multiformats/multiaddr';
import { afterEach, describe, expect, it } from 'vitest';
import type { PoolNode } from '../agent/p2p/node.ts';
import { readPoolKey } from '../shared/pool-key.ts';
import { decodeMessage, encodeMessage } from '../shared/wire/codec.ts';
import { membersTopic, WIRE_VERSION } from '../shared/wire/heartbeat.ts';
import { waitFor } from './fixtures/wait.ts';
import { TestPool } from './helpers/agents.ts';
import { startPoolNode } from './helpers/pool-node.ts';

/**
 * A member's own alive on the members topic carries its record (issue 13, stale views on real
 * agents). A member that learns "X is alive" without X's record holds no member X (member-events.ts
 * waits for the record), cannot sync with it, and waits for an anti-entropy pull to bring the
 * record: on real agents at N=20 the alive outran the record 109 times in one start storm, and the
 * view waited 5 s median (up to 29 s) for it. X refuting a death claim by broadcast was such an
 * alive: it reached members its first announcement had not. Real agent, real gossipsub.
 */

describe('an alive broadcast about ourselves', () => {
  let pool: TestPool | undefined;
  let raw: PoolNode | undefined;
  afterEach(async () => {
    await raw?.stop();
    raw = undefined;
    await pool?.cleanup();
    pool = undefined;
  });

  it('is published with our record: a member that missed the record gets it with the refutation', async () => {
    pool = await TestPool.create();
    const agent = await pool.start('a');
    const topic = membersTopic(pool.pool);
    // A bare pool node on the members topic: it sees what the agent publishes from here on.
    raw = await startPoolNode(await readPoolKey(pool.keyFile));
    const node = raw;
    const seen: Array<{ type: string; kind?: string }> = [];
    node.services.pubsub.addEventListener('message', (evt) => {
      if (evt.detail.topic !== topic) return;
      const d = decodeMessage(evt.detail.data, 1 << 16);
      if (!d.ok || d.msg.peerId !== agent.peerId) return;
      seen.push({ type: d.msg.type, ...(d.msg.type === 'update' ? { kind: d.msg.update.kind } : {}) });
    });
    node.services.pubsub.subscribe(topic);
    await node.dial(multiaddr(agent.multiaddrs[0]!));
    await waitFor('the agent and the bare node to know each other on the members topic', () =>
      node.services.pubsub.getSubscribers(topic).some((p) => p.toString() === agent.peerId),
    );
    // Claim the agent dead (as its accuser): it refutes by broadcasting that it is alive.
    const self = node.peerId.toString();
    const claim = { kind: 'dead' as const, id: agent.peerId, incarnation: 0, from: self };
    const bytes = encodeMessage({ v: WIRE_VERSION, type: 'update', peerId: self, seq: Date.now(), update: claim });
    await waitFor(
      'the agent to refute the death claim',
      async () => {
        if (!seen.some((m) => m.kind === 'alive')) await node.services.pubsub.publish(topic, bytes).catch(() => 0);
        return seen.some((m) => m.kind === 'alive');
      },
      { timeoutMs: 15_000, everyMs: 500 },
    );
    // The refutation came with the record that says who and where the agent is.
    await waitFor('the record to come with the refutation', () => seen.some((m) => m.type === 'heartbeat'), {
      timeoutMs: 5_000,
    });
    const alive = seen.findIndex((m) => m.kind === 'alive');
    expect(seen.findIndex((m) => m.type === 'heartbeat')).toBeLessThan(alive + 1);
  }, 40_000);
});
