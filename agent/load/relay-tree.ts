import { ringOrder } from '../membership/swim/overlay.ts';

/**
 * The tree load reports go up and the leader's summaries come down (issue 13): a BFS tree over
 * the ring overlay rooted at the leader, so every edge is a connection its two ends already hold
 * for SWIM. Every member knows the live membership and computes the same tree. Pure.
 */
export interface RelayTree {
  /** The ring neighbour to send reports to (the leader itself when adjacent); undefined: self leads. */
  parent: string | undefined;
  /** Members whose parent is this node, sorted. */
  children: string[];
  /** Hops from this node to the leader (0: the leader). */
  depth: number;
}

/**
 * The overlay's edges over `ids`: each id's successor and predecessor on each of `rings` rings, in
 * the (hash, id) order of swim/overlay.ts. With at most `rings` ids everyone neighbours everyone,
 * as neighbourhood() has it.
 */
export function overlayGraph(ids: readonly string[], rings: number): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>(ids.map((id) => [id, new Set<string>()]));
  const link = (a: string, b: string) => {
    if (a === b) return;
    graph.get(a)?.add(b);
    graph.get(b)?.add(a);
  };
  if (ids.length <= rings) {
    for (const a of ids) for (const b of ids) link(a, b);
    return graph;
  }
  for (let r = 0; r < rings; r++) {
    const order = ringOrder(ids, r).ids;
    for (let i = 0; i < order.length; i++) link(order[i]!, order[(i + 1) % order.length]!);
  }
  return graph;
}

/** Each reachable node's BFS distance from `root` and its parent (nearest neighbour, ties by id). */
export function bfsTree(
  graph: ReadonlyMap<string, ReadonlySet<string>>,
  root: string,
): Map<string, { dist: number; parent: string | undefined }> {
  const dist = new Map<string, number>([[root, 0]]);
  const queue = [root];
  for (let i = 0; i < queue.length; i++) {
    const at = queue[i]!;
    for (const n of graph.get(at) ?? []) {
      if (dist.has(n)) continue;
      dist.set(n, dist.get(at)! + 1);
      queue.push(n);
    }
  }
  const out = new Map<string, { dist: number; parent: string | undefined }>();
  for (const [id, d] of dist) {
    let parent: string | undefined;
    let best = Infinity;
    if (d > 0) {
      for (const n of graph.get(id) ?? []) {
        const nd = dist.get(n) ?? Infinity;
        if (nd < best || (nd === best && parent !== undefined && n < parent)) {
          best = nd;
          parent = n;
        }
      }
    }
    out.set(id, { dist: d, parent });
  }
  return out;
}

/**
 * This node's place in the tree over `live` (self and leader are added if missing). A node the
 * tree does not reach (it cannot be: the rings are cycles) would send to the leader directly.
 */
export function relayTree(live: Iterable<string>, rings: number, leader: string, self: string): RelayTree {
  const ids = [...new Set([...live, leader, self])].sort();
  const tree = bfsTree(overlayGraph(ids, rings), leader);
  const mine = tree.get(self);
  const children: string[] = [];
  for (const [id, t] of tree) if (t.parent === self) children.push(id);
  children.sort();
  if (self === leader) return { parent: undefined, children, depth: 0 };
  return { parent: mine?.parent ?? leader, children, depth: mine?.dist ?? 1 };
}

/**
 * relayTree, recomputed only when the live set or the leader changes (the agent asks every tick).
 */
export class RelayTreeCache {
  #key = '';
  #tree: RelayTree | undefined;

  constructor(
    private readonly rings: number,
    private readonly self: string,
  ) {}

  get(live: Iterable<string>, leader: string): RelayTree {
    const ids = [...live].sort();
    const key = `${leader}|${ids.join(',')}`;
    if (this.#tree === undefined || key !== this.#key) {
      this.#tree = relayTree(ids, this.rings, leader, this.self);
      this.#key = key;
    }
    return this.#tree;
  }
}
