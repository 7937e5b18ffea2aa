import { percentile } from './lib/stats.ts';
import type { Tracker } from './lib/tracker.ts';

/**
 * A join storm's critical path, phase by phase, from the agents' raw events (join-trace.ts). Per
 * joiner (every agent but the seed, index 0), ms after the storm's start:
 * - `pulled`: its first member-joined event: the seed answered and its table was merged;
 * - `seedHolds`: the seed's first member-joined about it (the join's push-back admitted it);
 * - `heardByHalf` / `heardByAll`: when half of the other agents / the last of them first held it
 *   alive (its announcement, follow-up syncs and probes carried it).
 * `spread` is heardByAll − pulled. Pure, over a Tracker.
 */
/** Median, p90 and max of a phase (ms), and over how many joiners. */
export interface Brief {
  median: number | null;
  p90: number | null;
  max: number | null;
  count: number;
}

export function brief(values: readonly number[]): Brief {
  const max = values.length > 0 ? Math.max(...values) : null;
  return { median: percentile(values, 50), p90: percentile(values, 90), max, count: values.length };
}

export interface JoinPhases {
  pulled: Brief;
  seedHolds: Brief;
  heardByHalf: Brief;
  heardByAll: Brief;
  spread: Brief;
  /** Joiners the seed admitted in each second since the start. */
  seedAdmitsBySecond: number[];
  /** Joiners some other agent never held alive. */
  notHeardByAll: number;
}

export function joinPhases(tracker: Tracker, peers: readonly string[], t0: number): JoinPhases {
  const seed = peers[0] as string;
  const joiners = peers.slice(1);
  const all = new Set(peers);
  const joinedEvents = tracker.eventsAbout(all, new Set(['member-joined']), 0);
  const firstBy = new Map<string, number>();
  for (const e of joinedEvents) {
    const key = `${e.by} ${e.peerId}`;
    if (e.at < (firstBy.get(key) ?? Infinity)) firstBy.set(key, e.at);
  }
  const pulled: number[] = [];
  const seedHolds: Array<number | null> = [];
  const half: number[] = [];
  const heardAll: number[] = [];
  const spread: number[] = [];
  let notHeardByAll = 0;
  for (const j of joiners) {
    const own = joinedEvents.filter((e) => e.by === j).map((e) => e.at);
    const p = own.length > 0 ? Math.min(...own) - t0 : null;
    if (p !== null) pulled.push(p);
    const s = firstBy.get(`${seed} ${j}`);
    seedHolds.push(s === undefined ? null : s - t0);
    const heard = peers
      .filter((o) => o !== j)
      .map((o) => firstBy.get(`${o} ${j}`))
      .filter((x): x is number => x !== undefined)
      .sort((a, b) => a - b);
    const others = peers.length - 1;
    const h = heard[Math.ceil(others / 2) - 1];
    if (h !== undefined) half.push(h - t0);
    if (heard.length < others) {
      notHeardByAll++;
      continue;
    }
    const last = (heard[heard.length - 1] as number) - t0;
    heardAll.push(last);
    if (p !== null) spread.push(last - p);
  }
  return {
    pulled: brief(pulled),
    seedHolds: brief(seedHolds.filter((x): x is number => x !== null)),
    heardByHalf: brief(half),
    heardByAll: brief(heardAll),
    spread: brief(spread),
    seedAdmitsBySecond: bySecond(seedHolds),
    notHeardByAll,
  };
}

/** How many of `ms` fall in each second (null: none). */
export function bySecond(ms: ReadonlyArray<number | null>): number[] {
  const out: number[] = [];
  for (const x of ms) {
    if (x === null) continue;
    const s = Math.max(0, Math.floor(x / 1000));
    while (out.length <= s) out.push(0);
    out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}
