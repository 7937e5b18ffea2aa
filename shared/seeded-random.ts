/**
 * A seeded PRNG (mulberry32): uniform in [0, 1). The core takes randomness only as an injected
 * `rand`; the membership simulator, `poolparty simulate` and tests pass this one so runs are
 * reproducible.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Up to `count` of `pool`, picked uniformly with `rand` (shuffles `pool` in place). */
export function sample<T>(pool: T[], count: number, rand: () => number): T[] {
  for (let i = 0; i < Math.min(count, pool.length); i++) {
    const j = i + Math.floor(rand() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, count);
}
