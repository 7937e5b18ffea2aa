import { allocateAddresses, parseLoopback } from '../../shared/remoter/address.ts';
import type { LocalInstanceRecord } from '../../shared/remoter/local.ts';

/**
 * The two sides of a cut between local agents, made whole. A cut is by address (Partition), so
 * an instance launched during it at an address neither side names reaches both and relays gossip
 * between them: the cut is no partition. Whoever may launch during a cut (a leader on the side
 * that keeps its lease, or the other one's in its last second of lease) must find the addresses
 * the local provider hands out next on one side already. It did not in every partition case read
 * on 2026-12-07: members flapped dead/alive ~3 times a second all through a 120 s cut and nothing
 * was replaced (BENCHMARKS, session 17).
 */

/** Addresses set aside for launches during a cut: more than any test cloud's max - min, for ports found busy. */
export const SPARE = 6;

/**
 * The `n` addresses the local provider hands out next to one cloud, from `listed`: every record
 * it lists for that cloud, terminated ones too. It allocates (allocateAddresses) the lowest free
 * ones upward from the cloud's first address, which is the lowest address it ever gave. Ports are
 * not probed: a spare too many costs nothing.
 */
export async function nextAddresses(listed: readonly LocalInstanceRecord[], n = SPARE): Promise<string[]> {
  const key = (a: string) => parseLoopback(a).reduce((k, p) => k * 256 + p, 0);
  const [first] = listed.map((i) => i.address).sort((x, y) => key(x) - key(y));
  if (first === undefined) return [];
  const taken = new Set(listed.filter((i) => i.state === 'running' || i.state === 'pending').map((i) => i.address));
  return allocateAddresses({ first, count: n, taken, ports: [], maxScan: 256 });
}

/** An instance launched while cut, and which side of the cut its address was on (null: neither). */
export interface CutLaunch {
  id: string;
  address: string;
  side: 0 | 1 | null;
}

/** Of `listed`, what was launched from `from` to `to` (epoch ms), each with its side of `sides`. */
export function launchesDuring(
  listed: readonly LocalInstanceRecord[],
  sides: readonly [readonly string[], readonly string[]],
  from: number,
  to: number,
): CutLaunch[] {
  return listed
    .filter((i) => i.launchedAt >= from && i.launchedAt <= to)
    .map((i) => ({
      id: i.id,
      address: i.address,
      side: sides[0].includes(i.address) ? 0 : sides[1].includes(i.address) ? 1 : null,
    }));
}

/** The launches on neither side (they relay across the cut), as `id@address`. */
export function unsided(launches: readonly CutLaunch[]): string[] {
  return launches.filter((l) => l.side === null).map((l) => `${l.id}@${l.address}`);
}
