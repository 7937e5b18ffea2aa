import type { Heartbeat } from '../../shared/wire/heartbeat.ts';

/**
 * Every member's latest record (addresses, monitor, cloud, instance, bundle state, leadership
 * claim), newest `seq` wins. Pure. Bounded: past `max` records a new id is refused until the
 * liveness table forgets someone (the shell calls `forget` when the core reaps a member).
 */
export class RecordBook {
  readonly #records = new Map<string, Heartbeat>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Keeps `r` if it is newer than what we hold; true when it changed anything. */
  accept(r: Heartbeat): boolean {
    const cur = this.#records.get(r.peerId);
    if (cur && r.seq <= cur.seq) return false;
    if (!cur && this.#records.size >= this.#max) return false;
    this.#records.set(r.peerId, r);
    return true;
  }

  get(id: string): Heartbeat | undefined {
    return this.#records.get(id);
  }

  forget(id: string): void {
    this.#records.delete(id);
  }

  ids(): IterableIterator<string> {
    return this.#records.keys();
  }

  all(): IterableIterator<Heartbeat> {
    return this.#records.values();
  }

  get size(): number {
    return this.#records.size;
  }
}

/**
 * The fields of our own record that matter for change detection: everything but `seq` and
 * `metrics` (metrics travel apart, at a bounded rate). A stable string, compared between beats.
 */
export function recordFingerprint(r: Omit<Heartbeat, 'seq'>): string {
  const { metrics: _metrics, ...rest } = r as Heartbeat;
  const { seq: _seq, ...fields } = rest;
  // Our own record is always built in the same key order, so plain JSON compares it.
  return JSON.stringify(fields);
}
