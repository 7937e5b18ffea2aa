import { describe, expect, it } from 'vitest';
import { bfsTree, overlayGraph, RelayTreeCache, relayTree } from '../agent/load/relay-tree.ts';

/**
 * The load relay tree (issue 13): a BFS tree over the ring overlay rooted at the leader, so a
 * report reaches the leader over connections SWIM already holds, in O(log N) hops.
 */

const ids = (n: number) => Array.from({ length: n }, (_, i) => `12D3KooWpeer${i.toString().padStart(4, '0')}`);

/** Hops from `id` to the leader following parents; Infinity on a loop. */
function hops(live: string[], leader: string, id: string): number {
  let at = id;
  for (let h = 0; h <= live.length; h++) {
    if (at === leader) return h;
    const p = relayTree(live, 3, leader, at).parent;
    if (p === undefined) return Infinity;
    at = p;
  }
  return Infinity;
}

function maxDepth(n: number): number {
  const live = ids(n);
  const tree = bfsTree(overlayGraph(live, 3), live[0]!);
  return Math.max(...[...tree.values()].map((t) => t.dist));
}

describe('relayTree', () => {
  const depths = Object.fromEntries([50, 250, 1000].map((n) => [n, maxDepth(n)]));

  it(`every node reaches the leader; depth O(log N) (N=50: ${depths[50]}, N=250: ${depths[250]}, N=1000: ${depths[1000]})`, () => {
    const live = ids(50);
    for (const id of live) expect(hops(live, live[7]!, id)).toBeLessThanOrEqual(depths[50]!);
    for (const n of [50, 250, 1000]) expect(depths[n]).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(n)));
    // Every node of N=1000 is in the tree (the rings are cycles: connected).
    expect(bfsTree(overlayGraph(ids(1000), 3), ids(1000)[0]!).size).toBe(1000);
  });

  it('every parent is a ring neighbour, nearer the leader; children are those whose parent is self', () => {
    const live = ids(60);
    const graph = overlayGraph(live, 3);
    const leader = live[3]!;
    const tree = bfsTree(graph, leader);
    for (const id of live) {
      const t = relayTree(live, 3, leader, id);
      if (id === leader) {
        expect(t.parent).toBeUndefined();
        continue;
      }
      expect(graph.get(id)!.has(t.parent!)).toBe(true);
      expect(tree.get(t.parent!)!.dist).toBe(tree.get(id)!.dist - 1);
      expect(relayTree(live, 3, leader, t.parent!).children).toContain(id);
    }
    // Each ring gives every node two edges: at most 2 × rings neighbours.
    for (const n of graph.values()) expect(n.size).toBeLessThanOrEqual(6);
  });

  it('is deterministic: the same whatever order the ids come in', () => {
    const live = ids(40);
    const a = relayTree(live, 3, live[0]!, live[20]!);
    const b = relayTree([...live].reverse(), 3, live[0]!, live[20]!);
    expect(b).toEqual(a);
  });

  it('a node whose view misses members still has a parent among its own ring neighbours', () => {
    const all = ids(50);
    const leader = all[0]!;
    const self = all[25]!;
    const partial = all.filter((_, i) => i % 3 !== 1 || i === 25);
    const t = relayTree(partial, 3, leader, self);
    expect(
      overlayGraph([...partial].sort(), 3)
        .get(self)!
        .has(t.parent!),
    ).toBe(true);
    expect(hops(partial, leader, self)).toBeLessThan(Infinity);
  });

  it('few members: everyone neighbours everyone, so all send to the leader', () => {
    const live = ids(3);
    for (const id of live.slice(1))
      expect(relayTree(live, 3, live[0]!, id)).toEqual({ parent: live[0], children: [], depth: 1 });
    expect(relayTree(live, 3, live[0]!, live[0]!).children).toEqual(live.slice(1));
  });

  it('a leader or self missing from the live set is added', () => {
    const live = ids(10);
    const t = relayTree(live.slice(1), 3, live[0]!, live[5]!);
    expect(t).toEqual(relayTree(live, 3, live[0]!, live[5]!));
  });

  it('the cache recomputes only when the live set or the leader changes', () => {
    const live = ids(20);
    const cache = new RelayTreeCache(3, live[4]!);
    const a = cache.get(live, live[0]!);
    expect(cache.get([...live].reverse(), live[0]!)).toBe(a);
    expect(cache.get(live, live[1]!)).not.toBe(a);
    expect(cache.get(live, live[1]!)).toEqual(relayTree(live, 3, live[1]!, live[4]!));
  });
});
