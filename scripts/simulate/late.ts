import { seededRandom } from '../../shared/seeded-random.ts';
import type { Ev } from './queue.ts';

/**
 * The `late` fault of the simulation (issue 13): a node whose event loop is busy, so its timers run
 * late, for a while. Its loop turns every `lateMs` on average (each turn uniform in ½–1½ × lateMs)
 * and is free for 1 ms at the start of each turn. What comes due meanwhile waits for that instant:
 * its tick first, then the frames that arrived (Node runs expired timers before it polls sockets,
 * so an ack that came while the loop was busy is read after the timer that gives up on it). The
 * core's stall rule (a tick gap over probeInterval + stallThreshold) rarely fires: the node still
 * ticks every turn.
 */
export class LateLoops {
  private readonly windows = new Map<number, { from: number; to: number; free: number; rand: () => number }>();

  constructor(private readonly lateMs: number) {}

  /** `node` runs late over [from, to). */
  add(node: number, from: number, to: number, seed: number): void {
    this.windows.set(node, { from, to, free: from, rand: seededRandom(seed) });
  }

  /** When `node` can handle an event `ev` due at `t`, if later than `t` (undefined: now). */
  hold(node: number, ev: Ev, t: number): number | undefined {
    const w = this.windows.get(node);
    if (!w || t < w.from || t >= w.to || !HELD.has(ev.k)) return undefined;
    while (w.free + 1 <= t) w.free += this.lateMs * (0.5 + w.rand());
    if (t >= w.free) return undefined;
    return ev.k === 'tick' ? w.free : w.free + 0.5;
  }

  has(node: number): boolean {
    return this.windows.has(node);
  }
}

const HELD = new Set<Ev['k']>([
  'tick',
  'probe',
  'update',
  'tell',
  'unreachable',
  'sync-req',
  'sync-resp',
  'sync-final',
]);
