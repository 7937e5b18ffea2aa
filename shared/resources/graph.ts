import { ResourceCycleError } from './errors.ts';

/**
 * Orders resources so each comes after everything it depends on, keeping declaration order
 * wherever dependencies allow (a stable topological sort: the generated recipe reads like the
 * clouds.ts it came from). A cycle is an error naming it, in "depends on" direction.
 *
 * `deps[i]` holds the indexes resource i depends on; `names[i]` names it in the error.
 */
export function orderResources(deps: ReadonlyArray<ReadonlySet<number>>, names: readonly string[]): number[] {
  const n = deps.length;
  const placed = new Array<boolean>(n).fill(false);
  const order: number[] = [];
  // O(n²) on purpose: resource lists are small and the scan keeps the order obviously stable.
  while (order.length < n) {
    let next = -1;
    for (let i = 0; i < n; i++) {
      if (placed[i]) continue;
      if ([...(deps[i] as ReadonlySet<number>)].every((d) => placed[d])) {
        next = i;
        break;
      }
    }
    if (next === -1) throw new ResourceCycleError(findCycle(deps, placed).map((i) => names[i] as string));
    placed[next] = true;
    order.push(next);
  }
  return order;
}

/**
 * Walks unplaced dependencies from the first unplaced resource until one repeats: every unplaced
 * resource has an unplaced dependency, so the walk must revisit within n steps. The cycle is
 * rotated to start at its earliest-declared member so the message is the same on every run.
 */
function findCycle(deps: ReadonlyArray<ReadonlySet<number>>, placed: readonly boolean[]): number[] {
  const seenAt = new Map<number, number>();
  const path: number[] = [];
  let at = placed.indexOf(false);
  while (!seenAt.has(at)) {
    seenAt.set(at, path.length);
    path.push(at);
    const unplaced = [...(deps[at] as ReadonlySet<number>)].filter((d) => !placed[d]).sort((a, b) => a - b);
    at = unplaced[0] as number;
  }
  const cycle = path.slice(seenAt.get(at));
  const start = cycle.indexOf(Math.min(...cycle));
  const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
  return [...rotated, rotated[0] as number];
}
