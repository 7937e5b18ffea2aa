import { describe, expect, it } from 'vitest';
import { LOCAL_BOOTSTRAP_PEERS } from '../shared/remoter/bootstrap-sample.ts';
import { seededRandom } from '../shared/seeded-random.ts';
import { joinerSeeds } from './bench/lib/inproc.ts';
import { P2P_PORT } from './bench/lib/loopback.ts';

/**
 * The in-process bench's joiners are given seeds as the local launcher gives them: a random few of
 * the agents started before each, not the seed alone for all (one listener took the whole storm).
 */

const seed = '/ip4/127.9.0.1/tcp/8643/p2p/12D3KooWSeed';
const ips = Array.from({ length: 99 }, (_, i) => `127.9.0.${i + 2}`);
const addr = (ip: string) => `/ip4/${ip}/tcp/${P2P_PORT}`;

describe('the bench joiners’ seeds', () => {
  it('the first joiner has only the seed; the next ones every agent before them while few', () => {
    expect(joinerSeeds(seed, [])).toEqual([seed]);
    expect(joinerSeeds(seed, ips.slice(0, 3))).toEqual([seed, ...ips.slice(0, 3).map(addr)]);
  });

  it('later joiners: a few distinct agents started before them, and the seed is not in every list', () => {
    const rand = seededRandom(11);
    const lists = Array.from({ length: 99 }, (_, i) => joinerSeeds(seed, ips.slice(0, i), rand));
    for (const [i, list] of lists.entries()) {
      expect(list.length).toBe(Math.min(i + 1, LOCAL_BOOTSTRAP_PEERS));
      expect(new Set(list).size).toBe(list.length);
      for (const a of list) expect([seed, ...ips.slice(0, i).map(addr)]).toContain(a);
    }
    const withSeed = lists.filter((l) => l.includes(seed)).length;
    // Joiner i holds the seed with chance 5/i: about 5 + 5·ln(99/5) ≈ 20 of 99, not 99.
    expect(withSeed).toBeLessThan(40);
    // The storm's first dials spread: no address is in more than a third of the lists.
    const count = new Map<string, number>();
    for (const a of lists.flat()) count.set(a, (count.get(a) ?? 0) + 1);
    expect(Math.max(...count.values())).toBeLessThan(33);
  });
});
