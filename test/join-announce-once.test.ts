import { afterEach, describe, expect, it, vi } from 'vitest';
import { ANNOUNCE_AFTER, Joining } from '../agent/membership/joining.ts';
import { LostMembers } from '../agent/membership/reconnect.ts';
import type { PoolNode } from '../agent/p2p/node.ts';

/**
 * A joiner announces itself once after its join sync (issue 13, the join storm): at the first of
 * ANNOUNCE_AFTER at which a peer's subscriptions have reached it, else at the last. It announced
 * at all three, and every copy is a message the whole pool verifies and forwards. Fake node and
 * timers: the seed answers at once; `subscribers` is what gossipsub knows of the members topic.
 */

const SEED = '/ip4/127.0.0.2/tcp/8643/p2p/seed';

function joiner(subscribers: () => number, seedLacksUs = false) {
  const announced: number[] = [];
  let joined = false;
  let joining: Joining | undefined;
  const node = {
    dial: async () => ({ remotePeer: { toString: () => 'seed' } }),
    services: {
      pubsub: {
        getTopics: () => ['members', 'control'],
        getSubscribers: (topic: string) => (topic === 'members' ? Array.from({ length: subscribers() }) : []),
      },
    },
  } as unknown as PoolNode;
  const start = Date.now();
  joining = new Joining({
    node,
    self: 'me',
    bootstrap: [SEED],
    now: () => Date.now(),
    running: () => true,
    ownAddrs: () => [],
    knownAlive: () => (joined ? [{ id: 'seed', addrs: [] }] : []),
    isAlive: (id) => joined && id === 'seed',
    lost: new LostMembers({ max: 10, keepFor: 60_000, fastEvery: 1000, fastFor: 10_000, slowEvery: 5000 }),
    sync: async () => {
      joined = true;
      // As membership.ts does after every pull: the seed's table, which does not hold us yet.
      if (seedLacksUs) joining?.pulled({ entries: [{ id: 'seed', state: 'alive' }], records: [] }, 1);
      return true;
    },
    announce: () => announced.push(Date.now() - start),
    log: () => undefined,
  });
  return { joining, announced };
}

/** The times (ms after start) at which a joiner announced itself within 30 s. */
async function announcements(subscribers: (sinceStart: number) => number, seedLacksUs = false): Promise<number[]> {
  vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'Date'] });
  const t0 = Date.now();
  const { joining, announced } = joiner(() => subscribers(Date.now() - t0), seedLacksUs);
  joining.start();
  await vi.advanceTimersByTimeAsync(30_000);
  joining.stop();
  return announced;
}

describe("a joiner's announcement after its join", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('goes out once, at the first slot, when a peer has subscribed by then', async () => {
    expect(await announcements(() => 1)).toEqual([ANNOUNCE_AFTER[0]]);
  });

  it('waits for the first slot after a peer subscribed', async () => {
    expect(await announcements((ms) => (ms >= 500 ? 1 : 0))).toEqual([ANNOUNCE_AFTER[1]]);
  });

  it('goes out at the last slot when nobody has subscribed by then', async () => {
    expect(await announcements(() => 0)).toEqual([ANNOUNCE_AFTER[ANNOUNCE_AFTER.length - 1]]);
  });

  it("is not doubled by the join's own pull, whose seed cannot hold us yet", async () => {
    // The round announces at its slot; the pull's push-back already gave the seed our entry. Before,
    // the pull announced at once too: two pool-wide announcements 0.2-0.3 s apart per joiner.
    expect(await announcements(() => 1, true)).toEqual([ANNOUNCE_AFTER[0]]);
  });
});
