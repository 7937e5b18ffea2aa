import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../agent/agent.ts';
import { GRACE_MS, MAINTAIN_MS } from '../agent/membership/neighbours.ts';
import { waitFor } from './fixtures/wait.ts';
import { allAlive, FAST, TestPool } from './helpers/agents.ts';

/**
 * Issue 13: after a failover the new leader's followers report on connections already open.
 * Every member keeps one to the heir (the oldest member but the leader: the one that claims
 * next), so when the leader is crashed the heir already holds a connection from every survivor.
 * One ring and a budget of 4 connections: a member's ring neighbours are 2 of the 7 others, so
 * without the heir in the protected set most members close theirs to it once past the grace
 * period (and the heir, over its own budget, closes the rest).
 */
describe('failover: the heir holds its followers-to-be connections before the leader goes', () => {
  const N = 8;
  let pool: TestPool;
  const tunables = { ...FAST, rings: 1, maxConnections: 4 };

  beforeAll(async () => {
    pool = await TestPool.create();
    // Started one after another: agent i is older than agent i + 1, so n0 leads and n1 is the heir.
    for (let i = 0; i < N; i++) {
      const name = `n${i}`;
      await pool.start(name, { tunables: pool.config(name, {}, tunables).tunables });
    }
  });
  afterAll(async () => {
    await pool?.cleanup();
  });

  const connectedTo = (peer: Agent, among: readonly Agent[]) =>
    among.filter((a) => a !== peer && a.connectedPeers().includes(peer.peerId));

  it('every member is connected to the heir; after the crash it leads with all of them connected', async () => {
    const [leader, heir] = pool.agents as [Agent, Agent];
    await waitFor(
      `${N} agents alive everywhere, following n0`,
      () => pool.agents.every((a) => allAlive(a.cluster(), N) && a.leadership?.leader?.peerId === leader.peerId),
      { timeoutMs: 30_000 },
    );
    // Connections past GRACE_MS count against the budget: members then close all but the ones they
    // keep (ring neighbours and hubs), so only a kept connection to the heir is still there.
    await new Promise((r) => setTimeout(r, GRACE_MS + 2 * MAINTAIN_MS));
    const others = pool.agents.filter((a) => a !== leader && a !== heir);
    const names = (as: readonly Agent[]) => as.map((a) => a.config.instanceId);
    expect(names(connectedTo(heir, others))).toEqual(names(others));

    await pool.stop(leader, false);
    const survivors = pool.agents;
    // Sampled as each survivor first follows the new leader: its connection was already there.
    const seenAtFollow = new Map<string, boolean>();
    await waitFor(
      'every survivor follows n1',
      () => {
        for (const a of survivors)
          if (a !== heir && !seenAtFollow.has(a.peerId) && a.leadership?.leader?.peerId === heir.peerId)
            seenAtFollow.set(a.peerId, a.connectedPeers().includes(heir.peerId));
        return survivors.every((a) => a.leadership?.leader?.peerId === heir.peerId);
      },
      { timeoutMs: 30_000, everyMs: 20 },
    );
    expect(heir.leadership?.leads).not.toBeNull();
    expect([...seenAtFollow.values()].filter((c) => !c)).toEqual([]);
  }, 150_000);
});
