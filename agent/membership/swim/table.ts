import { type RingView, Roster } from './overlay.ts';
import { inRing } from './precedence.ts';
import type { Liveness, MemberLiveness } from './types.ts';

/**
 * One node's liveness table, copy-on-write over an optional shared `Roster`: entries this node
 * changed live in `own` (null = forgotten), the rest are read from the roster. When the changes
 * outgrow the roster, the table rebuilds a private one (`rebase`), so lookups and ring walks stay
 * cheap for a node that joined with an empty table.
 */
export class MemberTable implements RingView {
  private own = new Map<string, MemberLiveness | null>();
  /** Ids in `own` that the roster does not hold, in a list with each one's index (O(1) random draws). */
  private fresh = new Map<string, number>();
  private freshIds: string[] = [];
  private count = 0;
  private live = 0;

  constructor(
    private base: Roster | undefined,
    private readonly rings: number,
  ) {
    if (base) {
      this.count = base.entries.size;
      for (const e of base.entries.values()) if (inRing(e.state)) this.live++;
    }
  }

  get roster(): Roster | undefined {
    return this.base;
  }

  get size(): number {
    return this.count;
  }

  /** Members on the rings (alive or suspect), self included. */
  get liveCount(): number {
    return this.live;
  }

  get(id: string): MemberLiveness | undefined {
    const mine = this.own.get(id);
    if (mine !== undefined) return mine ?? undefined;
    const e = this.base?.entries.get(id);
    return e && { id, incarnation: e.incarnation, state: e.state, since: this.base!.since };
  }

  /** State only, without building a record. */
  state(id: string): Liveness | undefined {
    const mine = this.own.get(id);
    if (mine !== undefined) return mine?.state;
    return this.base?.entries.get(id)?.state;
  }

  isLive(id: string): boolean {
    const s = this.state(id);
    return s !== undefined && inRing(s);
  }

  set(m: MemberLiveness): void {
    const prev = this.state(m.id);
    if (prev === undefined) this.count++;
    this.live += (inRing(m.state) ? 1 : 0) - (prev !== undefined && inRing(prev) ? 1 : 0);
    this.own.set(m.id, m);
    if (!this.base?.entries.has(m.id) && !this.fresh.has(m.id)) this.fresh.set(m.id, this.freshIds.push(m.id) - 1);
    if (this.fresh.size > 64 + (this.base?.entries.size ?? 0) / 8) this.rebase();
  }

  delete(id: string): void {
    const prev = this.state(id);
    if (prev === undefined) return;
    this.count--;
    if (inRing(prev)) this.live--;
    if (this.base?.entries.has(id)) this.own.set(id, null);
    else {
      this.own.delete(id);
      this.dropFresh(id);
    }
  }

  private dropFresh(id: string): void {
    const i = this.fresh.get(id);
    if (i === undefined) return;
    const last = this.freshIds.pop()!;
    if (last !== id) {
      this.freshIds[i] = last;
      this.fresh.set(last, i);
    }
    this.fresh.delete(id);
  }

  /**
   * A live member drawn uniformly from the whole table (roster and fresh ids) in O(1); undefined
   * when the draw hit a member that is not live (the caller draws again, or walks `liveIds`).
   */
  randomLive(rand: () => number): string | undefined {
    const ring = this.base?.rings[0]?.ids ?? [];
    const i = Math.floor(rand() * (ring.length + this.freshIds.length));
    const id = i < ring.length ? ring[i] : this.freshIds[i - ring.length];
    return id !== undefined && this.isLive(id) ? id : undefined;
  }

  *all(): Generator<MemberLiveness> {
    if (this.base) {
      for (const [id, e] of this.base.entries) {
        const mine = this.own.get(id);
        if (mine === null) continue;
        yield mine ?? { id, incarnation: e.incarnation, state: e.state, since: this.base.since };
      }
    }
    for (const id of this.freshIds) yield this.own.get(id)!;
  }

  /** Live ids the roster does not hold. */
  *extras(): Generator<string> {
    for (const id of this.freshIds) if (inRing(this.own.get(id)!.state)) yield id;
  }

  *liveIds(): Generator<string> {
    for (const m of this.all()) if (inRing(m.state)) yield m.id;
  }

  /** Rebuilds a private roster from the whole table (keeps each member's `since`). */
  private rebase(): void {
    const all = [...this.all()];
    this.base = new Roster(all, this.rings, 0);
    this.own = new Map(all.map((m) => [m.id, m]));
    this.fresh.clear();
    this.freshIds = [];
  }
}

/** Last incarnations of forgotten members, bounded; the oldest are evicted first. */
export class Tombstones {
  private readonly map = new Map<string, number>();

  constructor(private readonly max: number) {}

  get(id: string): number | undefined {
    return this.map.get(id);
  }

  record(id: string, incarnation: number): void {
    this.map.delete(id);
    this.map.set(id, incarnation);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }

  delete(id: string): void {
    this.map.delete(id);
  }

  entries(): IterableIterator<[string, number]> {
    return this.map.entries();
  }
}
