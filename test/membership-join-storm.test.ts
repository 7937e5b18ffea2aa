import type { GossipSub } from '@libp2p/gossipsub';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../agent/agent.ts';
import { missesUs, rejoinDelay } from '../agent/membership/joining.ts';
import type { AgentTunables } from '../shared/config/tunables.ts';
import { waitFor } from './fixtures/wait.ts';
import { quietLog, TestPool } from './helpers/agents.ts';
import { unstartedNode } from './helpers/pool-node.ts';

/** Slower than FAST (fewer probes on a loaded machine), fast enough to converge in seconds. */
const TUNABLES: Partial<AgentTunables> = { heartbeatInterval: 500, suspectAfter: 1500, sampleInterval: 2000 };

function aliveSeen(a: Agent): number {
  return a.cluster().members.filter((m) => m.state === 'alive').length;
}

/** Starts `names` at once, each with only the pool's first agent as its seed. */
async function startAll(pool: TestPool, names: string[]): Promise<Agent[]> {
  const agents = names.map((n) => new Agent(pool.config(n, {}, TUNABLES), { log: quietLog }));
  const started = await Promise.allSettled(agents.map((a) => a.start()));
  pool.agents.push(...agents);
  for (const s of started) if (s.status === 'rejected') throw s.reason;
  return agents;
}

/** The prototype every agent's gossipsub shares (the class itself is not exported), from a node never started. */
async function gossipsubPrototype(): Promise<GossipSub> {
  const node = await unstartedNode();
  return Object.getPrototypeOf(node.services.pubsub) as GossipSub;
}

describe('joins at scale (real libp2p nodes, one process)', () => {
  let pool: TestPool | undefined;
  let proto: GossipSub;
  let publish: GossipSub['publish'];

  beforeAll(async () => {
    proto = await gossipsubPrototype();
    publish = proto.publish;
  });
  afterEach(async () => {
    proto.publish = publish;
    await pool?.cleanup();
    pool = undefined;
  });
  afterAll(() => {
    if (proto) proto.publish = publish;
  });

  it('30 agents started at once through one seed all see all 30; no follower keeps more than maxConnections', async () => {
    pool = await TestPool.create();
    await startAll(pool, ['seed']);
    const n = 30;
    await startAll(
      pool,
      Array.from({ length: n - 1 }, (_, i) => `j${i}`),
    );
    const agents = pool.agents;
    await waitFor(
      `all ${n} agents to see ${n} alive`,
      () => {
        const short = agents.map(aliveSeen).filter((s) => s < n);
        if (short.length > 0) throw new Error(`${short.length} agents see fewer: ${short.join(' ')}`);
        return true;
      },
      { timeoutMs: 150_000, everyMs: 500 },
    );
    const max = agents[0]!.config.tunables.maxConnections;
    // The leader is connected to by every member (load reports); everyone else keeps its ring
    // neighbours and the leader, and closes the rest past the budget.
    await waitFor(
      `followers at most ${max} connections`,
      () => {
        const over = agents
          .filter((a) => a.leadership?.leads == null)
          .map((a) => a.connectedPeers().length)
          .filter((c) => c > max);
        if (over.length > 0) throw new Error(`followers over the budget: ${over.join(' ')}`);
        return true;
      },
      { timeoutMs: 60_000, everyMs: 500 },
    );
  }, 240_000);

  it('a joiner whose every announcement is lost is still learnt by every member, through its probes and anti-entropy', async () => {
    pool = await TestPool.create();
    await startAll(pool, ['seed']);
    await startAll(pool, ['a', 'b', 'c', 'd', 'e', 'f']);
    await waitFor('7 agents to see 7 alive', () => pool!.agents.every((a) => aliveSeen(a) === 7), {
      timeoutMs: 60_000,
    });
    // Gossip from any node that was not in the pool above is dropped: the joiner's record and
    // liveness never travel on the members topic, as when every copy is lost in a startup storm.
    const members = new Set(pool.agents.map((a) => a.peerId));
    let dropped = 0;
    proto.publish = function (this: GossipSub, ...args: Parameters<GossipSub['publish']>) {
      const self = (this as unknown as { components: { peerId: { toString(): string } } }).components.peerId;
      if (members.has(self.toString())) return publish.apply(this, args);
      dropped++;
      return Promise.resolve({ recipients: [] });
    } as GossipSub['publish'];
    const [late] = await startAll(pool, ['late']);
    await waitFor(
      'every member to see the late joiner alive',
      () => {
        const blind = pool!.agents.filter(
          (a) => a !== late && !a.cluster().members.some((m) => m.peerId === late!.peerId && m.state === 'alive'),
        );
        if (blind.length > 0) throw new Error(`${blind.length} members do not see it`);
        return true;
      },
      { timeoutMs: 120_000, everyMs: 500 },
    );
    expect(dropped).toBeGreaterThan(0);
  }, 180_000);

  it('joiners turned away back off, doubling and jittered, up to 30 s', () => {
    expect(rejoinDelay(0, 0.5)).toBe(2000);
    expect(rejoinDelay(1, 0.5)).toBe(4000);
    expect(rejoinDelay(3, 0.5)).toBe(16_000);
    expect(rejoinDelay(9, 0.5)).toBe(30_000);
    expect(rejoinDelay(0, 0)).toBe(1000);
    expect(rejoinDelay(0, 0.999)).toBeGreaterThan(2990);
  });

  it('a peer table misses us when it has no live entry or an older record of us', () => {
    const entry = (state: string) => ({ id: 'me', state });
    const rec = (seq: number) => ({ peerId: 'me', seq });
    expect(missesUs('me', 5, { entries: [], records: [] })).toBe(true);
    expect(missesUs('me', 5, { entries: [entry('dead')], records: [rec(5)] })).toBe(true);
    expect(missesUs('me', 5, { entries: [entry('alive')], records: [rec(4)] })).toBe(true);
    expect(missesUs('me', 5, { entries: [entry('alive')], records: [rec(5)] })).toBe(false);
    expect(missesUs('me', 5, { entries: [entry('suspect')], records: [rec(6)] })).toBe(false);
  });
});
