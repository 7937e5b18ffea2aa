import type { DigestEntry } from './types.ts';

/** 32-bit FNV-1a of a string's UTF-16 code units. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Position of `id` on ring `ring`. */
export function ringHash(ring: number, id: string): number {
  return fnv1a(`${ring}:${id}`);
}

/** One ring: ids sorted by (hash, id). */
interface Ring {
  hashes: Uint32Array;
  ids: string[];
}

/** Ring `ring` over `ids`: sorted by (hash, id). The relay tree (agent/load/relay-tree.ts) walks the same order. */
export function ringOrder(ids: readonly string[], ring: number): Ring {
  const hs = ids.map((id) => ringHash(ring, id));
  const order = ids.map((_, i) => i).sort((a, b) => hs[a]! - hs[b]! || (ids[a]! < ids[b]! ? -1 : 1));
  return { hashes: Uint32Array.from(order, (i) => hs[i]!), ids: order.map((i) => ids[i]!) };
}

/**
 * A frozen liveness table with its rings sorted once. Cores built from the same roster share it and
 * copy on write (see table.ts): a simulator can run 10,000 cores over one 10,000-member roster,
 * and a core rebuilds its own roster when its changes outgrow the shared one.
 */
export class Roster {
  readonly entries: ReadonlyMap<string, DigestEntry>;
  readonly rings: readonly Ring[];

  constructor(
    entries: Iterable<DigestEntry>,
    rings: number,
    /** The `since` of every member taken from this roster. */
    readonly since: number,
  ) {
    const map = new Map<string, DigestEntry>();
    for (const e of entries) map.set(e.id, e);
    this.entries = map;
    const ids = [...map.keys()];
    this.rings = Array.from({ length: rings }, (_, r) => ringOrder(ids, r));
  }
}

/** What the neighbour search needs to know of one node's view. */
export interface RingView {
  roster: Roster | undefined;
  /** On the rings in this view (alive or suspect). */
  isLive(id: string): boolean;
  /** Live ids that are not in the roster. */
  extras(): Iterable<string>;
  /** Live members, self included. */
  readonly liveCount: number;
  /** All live ids (only asked for when `liveCount` is at most rings). */
  liveIds(): Iterable<string>;
}

export interface Neighbourhood {
  subjects: string[];
  observers: string[];
}

/** a after b in (hash, id) order. */
function after(ha: number, a: string, hb: number, b: string): boolean {
  return ha !== hb ? ha > hb : a > b;
}

/** Nearest live member to `self` on ring `r`, clockwise (successor) or anticlockwise (predecessor). */
function nearest(self: string, r: number, view: RingView, clockwise: boolean): string | undefined {
  const hs = ringHash(r, self);
  // Rank of a candidate: (wrapped, hash, id) in the walking direction.
  let best: { id: string; h: number; wrap: boolean } | undefined;
  const consider = (id: string, h: number): void => {
    if (id === self) return;
    const wrap = clockwise ? !after(h, id, hs, self) : !after(hs, self, h, id);
    if (
      !best ||
      (best.wrap !== wrap ? !wrap : clockwise ? after(best.h, best.id, h, id) : after(h, id, best.h, best.id))
    ) {
      best = { id, h, wrap };
    }
  };
  const ring = view.roster?.rings[r];
  if (ring && ring.ids.length > 0) {
    const n = ring.ids.length;
    // First index after self in (hash, id) order.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (after(ring.hashes[mid]!, ring.ids[mid]!, hs, self) || (ring.hashes[mid] === hs && ring.ids[mid] === self)) {
        hi = mid;
      } else lo = mid + 1;
    }
    for (let step = 0; step < n; step++) {
      const i = clockwise ? (lo + step) % n : (((lo - 1 - step) % n) + n) % n;
      const id = ring.ids[i]!;
      if (id !== self && view.isLive(id)) {
        consider(id, ring.hashes[i]!);
        break;
      }
    }
  }
  for (const id of view.extras()) consider(id, ringHash(r, id));
  return best?.id;
}

/**
 * This node's subjects (successor on each ring) and observers (predecessor on each), deduplicated
 * and never self. With fewer than rings + 1 live members, everyone else is both.
 */
export function neighbourhood(self: string, rings: number, view: RingView): Neighbourhood {
  if (view.liveCount <= rings) {
    const all = [...view.liveIds()].filter((id) => id !== self).sort();
    return { subjects: all, observers: [...all] };
  }
  const subjects = new Set<string>();
  const observers = new Set<string>();
  for (let r = 0; r < rings; r++) {
    const s = nearest(self, r, view, true);
    const o = nearest(self, r, view, false);
    if (s !== undefined) subjects.add(s);
    if (o !== undefined) observers.add(o);
  }
  return { subjects: [...subjects], observers: [...observers] };
}
