/**
 * Whether a starting agent has joined the pool through one of its seeds (pure). Until then it
 * must not claim a term: in a bootstrap of 5 local agents every one of them elected itself at
 * term 1 within half a second of starting, its seeds not listening yet or its join still under
 * way, and the islands' claims then cost the pool a contested term. A node given no seeds (other
 * than itself) is the pool's first and has joined at once.
 */

/** A member as the election sees it: its peer id and the addresses it listens on. */
export interface SeedMember {
  peerId: string;
  addrs: readonly string[];
}

/** The peer id a seed multiaddr names (`…/p2p/<id>`), or null for an address alone. */
function seedPeer(seed: string): string | null {
  return seed.split('/p2p/')[1] ?? null;
}

/** Whether this node was given seeds other than itself (none: it is the pool's first). */
export function hasSeeds(seeds: readonly string[], self: string): boolean {
  return seeds.some((s) => seedPeer(s) !== self);
}

/**
 * Whether a seeded node that joined at `joinedAt` (null: not yet) must still not claim. After its
 * join it listens `settleAfter` more: its seed's table may be partial (the seed had not merged
 * yet either), and a claim made meanwhile by an older member — the pool's first, given no seeds,
 * claims once settled — must reach it first. Seen: a joiner that started before the first node
 * (process start order on a loaded machine) joined through a later one and claimed term 1
 * beside the first node's claim, which cost a contested term.
 */
export function awaitingJoin(joinedAt: number | null, now: number, settleAfter: number): boolean {
  return joinedAt === null || now - joinedAt < settleAfter;
}

/**
 * Whether a member alive in our view shows we joined through a seed: one of the seeds by its
 * peer id, or — for a seed given as an address alone (EC2 user data), which we cannot name — any
 * member at all. A member that joined through us while we reached no seed does not count: two
 * late starters must not make an island that elects its own term-1 leader.
 */
export function joinedThrough(seeds: readonly string[], self: string, alive: Iterable<SeedMember>): boolean {
  const peers = seeds.map(seedPeer).filter((p) => p !== self);
  if (peers.length === 0) return true;
  const named = new Set(peers);
  for (const m of alive) if (peers.includes(null) || named.has(m.peerId)) return true;
  return false;
}
