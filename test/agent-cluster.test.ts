import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterView } from '../shared/wire/cluster.ts';
import { waitFor } from './fixtures/wait.ts';
import { allAlive, states, TestPool } from './helpers/agents.ts';

describe('agents on loopback (real libp2p, one process)', () => {
  let pool: TestPool;

  beforeAll(async () => {
    pool = await TestPool.create();
  });
  afterAll(async () => {
    await pool?.cleanup();
  });

  it('five agents converge: every agent sees all five alive with metrics', async () => {
    for (let i = 1; i <= 5; i++) await pool.start(`n${i}`);
    // Followers learn others' metrics from the leader's load summary, a little after membership.
    await waitFor(
      '5 agents to see 5 alive members with metrics',
      () =>
        pool.agents.every(
          (a) => allAlive(a.cluster(), 5) && a.cluster().members.every((m) => m.metrics.load !== undefined),
        ),
      { timeoutMs: 30_000 },
    );
    const view = pool.agents[2]?.cluster() as ClusterView;
    expect(view.pool).toBe(pool.pool);
    expect(view.self).toBe(pool.agents[2]?.peerId);
    expect(new Set(view.members.map((m) => m.peerId)).size).toBe(5);
    for (const m of view.members) {
      expect(m.metrics.load).toBeTypeOf('number');
      expect(m.monitor).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(m.addrs[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/);
    }
  });

  it('learns peers from heartbeats: agents that only knew n1 connect to others', async () => {
    // Bootstrapped only to n1, an agent connects to its ring neighbours, learned from the table
    // it pulled from n1: which ones depends on the peer ids' hashes, but some are not n1.
    const [n1, , , , n5] = pool.agents;
    if (!n1 || !n5) throw new Error('missing agents');
    expect(n5.config.bootstrap).toHaveLength(1);
    await waitFor('n5 connected beyond its bootstrap peer', () =>
      n5.connectedPeers().some((p) => p !== n1.peerId && pool.agents.some((a) => a.peerId === p)),
    );
  });

  it('a stopped agent (no leave) is marked suspect then dead by the rest', async () => {
    const victim = pool.agents[3];
    if (!victim) throw new Error('no victim');
    const id = victim.config.instanceId;
    await pool.stop(victim, false);
    await waitFor(`${id} dead on every other agent`, () =>
      pool.agents.every((a) => states(a.cluster())[id] === 'dead'),
    );
  });

  it('a graceful leave is seen as left at once', async () => {
    const leaver = pool.agents[3];
    if (!leaver) throw new Error('no leaver');
    const id = leaver.config.instanceId;
    await pool.stop(leaver, true);
    await waitFor(`${id} left`, () => pool.agents.every((a) => states(a.cluster())[id] === 'left'), {
      timeoutMs: 3000,
    });
  });

  it('a restarted agent keeps its peer id and comes back alive', async () => {
    const before = pool.agents[1];
    if (!before) throw new Error('no agent');
    const { peerId } = before;
    const id = before.config.instanceId;
    await pool.stop(before, false);
    await waitFor(`${id} dead`, () => states(pool.agents[0]?.cluster() as ClusterView)[id] === 'dead');
    const again = await pool.start(id);
    expect(again.peerId).toBe(peerId);
    await waitFor(`${id} alive again everywhere`, () => pool.agents.every((a) => states(a.cluster())[id] === 'alive'));
  });
});
