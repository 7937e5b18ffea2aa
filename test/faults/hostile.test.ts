import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPoolNode, type PoolNode } from '../../agent/p2p/node.ts';
import { readPoolKey } from '../../shared/pool-key.ts';
import { encodeMessage } from '../../shared/wire/codec.ts';
import { controlTopic, type Heartbeat, type Intent, membersTopic } from '../../shared/wire/heartbeat.ts';
import { FaultPool, rejected } from '../fixtures/fault-pool.ts';
import { waitForHeldAtBound } from '../fixtures/scaling-watch.ts';
import { waitFor } from '../fixtures/wait.ts';
import { RSS_LIMIT_KB, rssKb } from './agent-health.ts';

/**
 * A peer holding the pool key (a compromised member, a leaked key) joins a real 3-agent pool as a
 * raw libp2p node with gossipsub and sends what issue 15 found could steer the pool: leadership
 * claims at term + 5 and 2^53 − 1, an intent dated 10 years ahead, a fake member with a huge
 * metric, a record reusing a real member's instance id, a "dead" accusation of a healthy member,
 * and a flood of malformed messages. The pool must keep its legitimate leader, terminate nothing,
 * launch nothing, and its agents must stay up with bounded memory.
 */

const YEAR = 365 * 24 * 3600 * 1000;

describe('a hostile peer with the pool key (real agents)', () => {
  let pool: FaultPool;
  let rogue: PoolNode;

  beforeAll(async () => {
    pool = await FaultPool.create({ name: 'hostile', min: 3, max: 5 });
    await pool.bootstrap();
    pool.startSampler();
    rogue = await createPoolNode({
      privateKey: await generateKeyPair('Ed25519'),
      poolKey: await readPoolKey(join(pool.stateDir, 'pool.key')),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      maxConnections: 16,
      maxMessageBytes: 1 << 20,
    });
    await rogue.start();
  });

  afterAll(async () => {
    await Promise.resolve(rogue?.stop()).catch(() => undefined);
    await pool?.cleanup();
  });

  it('keeps one legitimate leader, terminates and launches nothing, stays up with bounded RSS', async () => {
    await waitFor('3 alive', () => pool.converged(3), { timeoutMs: 90_000, everyMs: 500 });
    const leader = await waitFor('one leader', () => pool.agreedLeader(), { timeoutMs: 60_000 });
    const before = await pool.live();
    const ids = before.map((i) => i.id).sort();
    const rssBefore = new Map(before.map((i) => [i.id, rssKb(i.pid as number)]));
    const members = (await pool.cluster(leader.instanceId))?.members ?? [];
    const realPeers = members.map((m) => m.peerId);
    const victim = members.find((m) => m.instanceId !== leader.instanceId);
    if (!victim) throw new Error('no second member');

    const mt = membersTopic('hostile');
    const ct = controlTopic('hostile');
    const ps = rogue.services.pubsub;
    ps.subscribe(mt);
    ps.subscribe(ct);
    for (const inst of before) {
      await rogue.dial(multiaddr(`/ip4/${inst.address}/tcp/${8643}`)).catch(() => undefined);
    }
    await waitFor('agents subscribed, as the rogue sees them', () => ps.getSubscribers(ct).length >= 3, {
      timeoutMs: 20_000,
    });
    // Published before the rogue grafted the agents into its mesh, the attack could be only
    // gossiped about. The mesh is on the implementation, not on the GossipSub interface.
    const mesh = ps as unknown as { getMeshPeers(t: string): string[] };
    await waitFor(
      'the agents in the rogue mesh',
      () => mesh.getMeshPeers(mt).length >= 3 && mesh.getMeshPeers(ct).length >= 3,
      {
        timeoutMs: 20_000,
      },
    );
    // The contract rule holds from here (the pool sits at its min): the leader's evaluations of it
    // show below when it has had its chances to act on the attack.
    await pool.setQueue(0);
    const attackedAt = Date.now();
    const monitors = before.map((i) => i.monitor as string);
    const spoofedBefore = await Promise.all(monitors.map((m) => rejected(m, 'spoofed')));

    const me = rogue.peerId.toString();
    let seq = Date.now();
    const send = (topic: string, data: Uint8Array) => ps.publish(topic, data).catch(() => undefined);
    const record = (over: Partial<Heartbeat>): Heartbeat => ({
      v: 2,
      type: 'heartbeat',
      peerId: me,
      instanceId: 'local-99',
      cloud: 'web',
      addrs: [],
      monitor: '',
      startedAt: 1, // the oldest: the election would pick it if it counted
      seq: ++seq,
      version: '0.1.0',
      metrics: {},
      ...over,
    });
    const intent = (over: Partial<Intent>): Intent => ({
      v: 2,
      type: 'intent',
      peerId: me,
      seq: ++seq,
      term: leader.term,
      cloud: 'web',
      action: 1,
      kind: 'expand',
      count: 2,
      token: 'rogue-token',
      targets: [],
      reason: 'rogue',
      at: Date.now(),
      ...over,
    });

    // Leadership claims: term + 5, then the largest safe integer.
    await send(mt, encodeMessage(record({ term: leader.term + 5, leads: leader.term + 5 })));
    await send(mt, encodeMessage(record({ term: Number.MAX_SAFE_INTEGER, leads: Number.MAX_SAFE_INTEGER })));
    // Intents: dated 10 years ahead, and at the largest term.
    await send(ct, encodeMessage(intent({ at: Date.now() + 10 * YEAR })));
    await send(
      ct,
      encodeMessage(intent({ term: Number.MAX_SAFE_INTEGER, kind: 'contract', targets: [victim.instanceId] })),
    );
    // A fake member with a huge metric (the wire bound), and one at 1e308.
    await send(mt, encodeMessage(record({ metrics: { queue: 1e12, load: 1e12 } })));
    await send(mt, encodeMessage(record({ metrics: { queue: 1e308 } })));
    // A record reusing a real member's instance id, and the rogue accusing it of being dead.
    await send(mt, encodeMessage(record({ instanceId: victim.instanceId })));
    await send(
      mt,
      encodeMessage({
        v: 2,
        type: 'update',
        peerId: me,
        seq: ++seq,
        update: { kind: 'dead', id: victim.peerId, incarnation: 1000, from: me },
      }),
    );
    // A retire for the victim, as if from a leader.
    await send(
      ct,
      encodeMessage({
        v: 2,
        type: 'retire',
        peerId: me,
        seq: ++seq,
        term: leader.term + 1,
        target: victim.peerId,
        token: 'x',
        at: Date.now(),
      }),
    );
    // A flood of malformed messages on both topics (bounded).
    const junk = new Uint8Array(512);
    for (let i = 0; i < 4000; i++) {
      junk[i % junk.length] = i & 0xff;
      await send(i % 2 === 0 ? mt : ct, i % 3 === 0 ? junk : encodeMessage(record({ seq: ++seq, startedAt: -i })));
      // Paces the flood (part of the attack), so the rogue's own loop is not the bottleneck.
      if (i % 200 === 0) await sleep(10);
    }
    // Last, a record signed by the rogue in a real member's name: refused as 'spoofed', a reason
    // nothing above earns. Each agent reads the rogue's messages in order, so once every agent
    // counted it, every agent has been handed the whole attack.
    await send(mt, encodeMessage(record({ peerId: victim.peerId, instanceId: victim.instanceId })));
    await waitFor(
      'every agent to refuse the closing spoofed record',
      async () =>
        (await Promise.all(monitors.map((m) => rejected(m, 'spoofed')))).every((n, k) => n > (spoofedBefore[k] ?? 0)),
      { timeoutMs: 30_000 },
    );
    // Then the leader evaluates its rules with the attack in: the contract rule still holds (a
    // counted fake metric of 1e12 would break it), blocked at min, round after round.
    const held = await waitForHeldAtBound(() => monitors, 'contract', { since: attackedAt, rounds: 4 });
    expect(held.rules?.expand?.holds, 'the expand rule saw no fake metric').toBe(false);
    await pool.setQueue(5);
    const now = await waitFor('one leader after the attack', () => pool.agreedLeader(), { timeoutMs: 20_000 });
    expect(realPeers, 'the leader is a real member').toContain(now.peerId);
    expect(now.peerId, 'leadership did not move').toBe(leader.peerId);
    expect(now.term, 'the term was not pushed').toBeLessThanOrEqual(leader.term + 1);
    const after = await pool.live();
    expect(after.map((i) => i.id).sort(), 'no instance terminated, none launched').toEqual(ids);
    expect(pool.maxSeen).toBe(3);
    const acted = (await pool.decisions()).filter((d) => d.action !== 'none' && d.result === 'ok');
    expect(acted, 'no scaling action').toEqual([]);
    const view = await pool.cluster(leader.instanceId);
    expect(view?.members.find((m) => m.peerId === victim.peerId)?.state, 'the accused member').toBe('alive');
    for (const inst of after) {
      const rss = rssKb(inst.pid as number);
      const grew = rss - (rssBefore.get(inst.id) ?? 0);
      console.info(`hostile: ${inst.id} RSS ${rssBefore.get(inst.id)} -> ${rss} kB`);
      expect(rss, `${inst.id} RSS kB`).toBeLessThan(RSS_LIMIT_KB);
      expect(grew, `${inst.id} RSS growth kB`).toBeLessThan(80_000);
      const health = await fetch(`${inst.monitor}/health`).then((r) => r.json());
      expect(health).toMatchObject({ status: 'ok' });
      const log = await readFile(join(pool.stateDir, 'local', inst.id, 'agent.log'), 'utf8');
      expect(log).not.toMatch(/"level":"error"/);
    }
  });

  it('terminate leaves nothing', async () => {
    const { run, pids, listed } = await pool.terminate();
    expect(run.code, run.stderr).toBe(0);
    expect(pids).toEqual([]);
    expect(listed).toEqual([]);
  });
});
