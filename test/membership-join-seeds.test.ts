import { afterEach, describe, expect, it, vi } from 'vitest';
import { JOIN_STAGGER_MS } from '../agent/membership/join-race.ts';
import { JOIN_SEEDS_PER_ROUND, Joining, joinCandidates } from '../agent/membership/joining.ts';
import { LostMembers } from '../agent/membership/reconnect.ts';
import type { PoolNode } from '../agent/p2p/node.ts';
import { LOCAL_BOOTSTRAP_PEERS, sampleBootstrapPeers } from '../shared/remoter/bootstrap-sample.ts';
import { seededRandom } from '../shared/seeded-random.ts';

/**
 * Joins spread over the pool instead of queueing at one seed: a launcher gives each agent a random
 * few of the running instances, and a join round tries a random few of its seeds one at a time,
 * stopping at the first that answers (its table is the whole pool).
 */

const addrs = (n: number) => Array.from({ length: n }, (_, i) => `/ip4/127.0.0.${i + 2}/tcp/8643/p2p/peer${i}`);

describe('bootstrap peers a launcher gives each agent', () => {
  it('all of them, in order, while there are no more than the bound', () => {
    const peers = addrs(LOCAL_BOOTSTRAP_PEERS);
    expect(sampleBootstrapPeers(peers)).toEqual(peers);
    expect(sampleBootstrapPeers([])).toEqual([]);
  });

  it('a different random few of 49 for each agent, in their order, and no peer in every list', () => {
    const peers = addrs(49);
    const rand = seededRandom(7);
    const lists = Array.from({ length: 200 }, () => sampleBootstrapPeers(peers, LOCAL_BOOTSTRAP_PEERS, rand));
    for (const list of lists) {
      expect(list).toHaveLength(LOCAL_BOOTSTRAP_PEERS);
      expect(new Set(list).size).toBe(LOCAL_BOOTSTRAP_PEERS);
      expect(list).toEqual(peers.filter((p) => list.includes(p)));
    }
    const picked = new Map<string, number>();
    for (const p of lists.flat()) picked.set(p, (picked.get(p) ?? 0) + 1);
    expect(picked.size).toBe(peers.length);
    // 200 lists of 5 of 49: about 20 each; the oldest is not every agent's seed.
    expect(Math.max(...picked.values())).toBeLessThan(lists.length / 2);
  });
});

describe('the seeds one join round tries', () => {
  it(`at most ${JOIN_SEEDS_PER_ROUND}, distinct, of the unknown ones, and a different first seed for different joiners`, () => {
    const seeds = addrs(10);
    const rand = seededRandom(3);
    const firsts = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const c = joinCandidates(seeds, rand);
      expect(c).toHaveLength(JOIN_SEEDS_PER_ROUND);
      expect(new Set(c).size).toBe(c.length);
      for (const s of c) expect(seeds).toContain(s);
      firsts.add(c[0] as string);
    }
    expect(firsts.size).toBe(seeds.length);
    expect(joinCandidates(seeds.slice(0, 2), rand).sort()).toEqual(seeds.slice(0, 2).sort());
  });
});

/**
 * A Joining over a fake node whose dial answers per address: 'refuse' throws, 'silent' never
 * answers (rejects only when aborted, as a dial to a host that drops packets), else the peer id.
 */
function joiningWith(seeds: string[], answer: (addr: string) => 'refuse' | 'silent' | string) {
  const dialled: string[] = [];
  const aborted: string[] = [];
  const synced: Array<{ peer: string; hash: string | undefined }> = [];
  const failures: string[] = [];
  const known = new Set<string>();
  const node = {
    dial: async (ma: { toString(): string }, opts: { signal: AbortSignal }) => {
      const addr = ma.toString();
      dialled.push(addr);
      const a = answer(addr);
      if (a === 'refuse') throw new Error('connect ECONNREFUSED');
      if (a === 'silent')
        return new Promise((_, reject) =>
          opts.signal.addEventListener('abort', () => {
            aborted.push(addr);
            reject(new Error('aborted'));
          }),
        );
      return { remotePeer: { toString: () => a } };
    },
  } as unknown as PoolNode;
  const joining = new Joining({
    node,
    self: 'me',
    bootstrap: seeds,
    now: () => Date.now(),
    running: () => true,
    ownAddrs: () => [],
    // The sync's table holds every seed: once one answered, all are known.
    knownAlive: () => [...known].map((id) => ({ id, addrs: [] })),
    isAlive: (id) => known.has(id),
    lost: new LostMembers({ max: 10, keepFor: 60_000, fastEvery: 1000, fastFor: 10_000, slowEvery: 5000 }),
    sync: async (peer, hash) => {
      synced.push({ peer, hash });
      for (const s of seeds) known.add(s.split('/p2p/')[1] as string);
      return true;
    },
    announce: () => undefined,
    log: (msg, fields) => {
      if (msg === 'join-dial-failed') failures.push(fields.addr as string);
    },
  });
  return { joining, dialled, aborted, synced, failures };
}

/** Lets a round whose dials answer at once run to its end. */
const settle = () => new Promise((r) => setImmediate(r));

describe('a join round (fake node)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stops at the first seed that answers, and dials none of the others once its table is in', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'] });
    const seeds = addrs(20);
    const peerOf = (addr: string) => addr.split('/p2p/')[1] as string;
    const { joining, dialled, synced } = joiningWith(seeds, peerOf);
    joining.start();
    await settle();
    expect(dialled).toHaveLength(1);
    expect(synced).toEqual([{ peer: peerOf(dialled[0] as string), hash: '' }]);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(dialled).toHaveLength(1);
    joining.stop();
  });

  it(`tries ${JOIN_SEEDS_PER_ROUND} seeds in a round that reaches none, then again after a pause while seeds are unknown`, async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'] });
    const seeds = addrs(20);
    const { joining, dialled, failures, synced } = joiningWith(seeds, () => 'refuse');
    joining.start();
    await settle();
    expect(dialled).toHaveLength(JOIN_SEEDS_PER_ROUND);
    expect(failures).toEqual(dialled);
    expect(synced).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(dialled.length).toBeGreaterThan(JOIN_SEEDS_PER_ROUND);
    expect(dialled.length % JOIN_SEEDS_PER_ROUND).toBe(0);
    joining.stop();
  });

  it('reaches a live seed after refused ones in the same round', async () => {
    const seeds = addrs(JOIN_SEEDS_PER_ROUND);
    const live = seeds[seeds.length - 1] as string;
    const { joining, dialled, synced } = joiningWith(seeds, (a) => (a === live ? 'peer-live' : 'refuse'));
    joining.start();
    await settle();
    joining.stop();
    expect(dialled).toContain(live);
    expect(dialled.indexOf(live)).toBe(dialled.length - 1);
    expect(synced).toEqual([{ peer: 'peer-live', hash: '' }]);
  });
});

describe('a join round with a silent seed (fake node)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('dials the next seed after JOIN_STAGGER_MS, joins through it and aborts the silent dial', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'] });
    const seeds = addrs(2);
    const [silent, live] = seeds as [string, string];
    const { joining, dialled, aborted, synced, failures } = joiningWith(seeds, (a) =>
      a === live ? 'peer-live' : 'silent',
    );
    // The silent seed first: with rand 0 the round keeps the seeds in their order.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0);
    joining.start();
    random.mockRestore();
    await vi.advanceTimersByTimeAsync(JOIN_STAGGER_MS - 1);
    expect(dialled).toEqual([silent]);
    await vi.advanceTimersByTimeAsync(1);
    expect(dialled).toEqual([silent, live]);
    expect(synced).toEqual([{ peer: 'peer-live', hash: '' }]);
    expect(aborted).toEqual([silent]);
    // Aborted because another seed answered: not a failure to report.
    expect(failures).toEqual([]);
    joining.stop();
  });
});
