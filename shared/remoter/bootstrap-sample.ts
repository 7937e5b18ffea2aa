import { sample } from '../seeded-random.ts';

/**
 * How many bootstrap peers a locally launched agent is given: a random few of the pool's running
 * instances. Given all of them (49 at N=50), agents spawned together all had the same oldest ones
 * among their seeds, and a pool of 50 starting on two cores queued at those few.
 */
export const LOCAL_BOOTSTRAP_PEERS = 5;

/**
 * Up to `max` of `peers`, picked uniformly with `rand` (each agent a different few), in their
 * order: all of them while there are no more than `max`. The agent tries its seeds in random
 * order anyway (agent/membership/joining.ts).
 */
export function sampleBootstrapPeers(
  peers: readonly string[],
  max = LOCAL_BOOTSTRAP_PEERS,
  rand: () => number = Math.random,
): string[] {
  if (peers.length <= max) return [...peers];
  const picked = new Set(sample([...peers.keys()], max, rand));
  return peers.filter((_, i) => picked.has(i));
}
