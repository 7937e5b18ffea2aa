import type { DigestEntry, ProbeMessage, Update } from '../../agent/membership/swim/types.ts';

/** The simulator's events and its priority queue (simulation.ts): virtual time, no real timers. */

export type Ev =
  | { k: 'tick' }
  | { k: 'probe'; from: number; msg: ProbeMessage }
  | { k: 'update'; from: number; u: number }
  | { k: 'tell'; update: Update }
  | { k: 'unreachable'; id: number }
  | { k: 'sync-req'; from: number; summary: number[] }
  | { k: 'sync-resp'; from: number; entries: DigestEntry[]; buckets: number[] }
  | { k: 'sync-final'; from: number; entries: DigestEntry[] }
  | { k: 'kill' }
  | { k: 'hang' }
  | { k: 'stall' }
  | { k: 'join' };

/** An event due at `t` for `node`; `s` orders events due at the same time by when they were pushed. */
export type Queued = Ev & { t: number; s: number; node: number };

/** Binary min-heap on (t, s). */
export class Queue {
  private readonly h: Queued[] = [];
  private seq = 0;
  get size(): number {
    return this.h.length;
  }
  push(t: number, node: number, ev: Ev): void {
    const h = this.h;
    const e = { ...ev, t, node, s: this.seq++ } as Queued;
    let i = h.push(e) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(e, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }
  pop(): Queued | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || !last) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const c = l + 1 < h.length && less(h[l + 1]!, h[l]!) ? l + 1 : l;
      if (!less(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }
}
const less = (a: Queued, b: Queued): boolean => a.t < b.t || (a.t === b.t && a.s < b.s);
