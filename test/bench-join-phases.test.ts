import { describe, expect, it } from 'vitest';
import { bySecond, joinPhases } from './bench/join-phases.ts';
import { Tracker } from './bench/lib/tracker.ts';

/** A tracker over agents s (the seed), a, b, fed (observer, member, at) member-joined events. */
function storm(joined: Array<[string, string, number]>): Tracker {
  const t = new Tracker();
  for (const id of ['s', 'a', 'b']) t.add(id);
  for (const [by, peerId, at] of joined) t.ingest(by, { agent: 0, type: 'member-joined', peerId, at });
  return t;
}

describe('join-trace phases', () => {
  it('takes each phase from the first member-joined event of the right observer', () => {
    const t = storm([
      ['a', 's', 1200], // a pulled the seed's table at 1.2 s
      ['s', 'a', 1100], // the seed held a from the join's push-back
      ['b', 'a', 3000], // the last other agent held a at 3 s
      ['b', 'a', 5000], // later events (a recovery) do not move the first
      ['b', 's', 2500],
      ['s', 'b', 2400],
    ]);
    const p = joinPhases(t, ['s', 'a', 'b'], 1000);
    expect(p.pulled).toEqual({ median: 200, p90: 1500, max: 1500, count: 2 });
    expect(p.seedHolds.count).toBe(2);
    expect(p.seedHolds.max).toBe(1400);
    // a: heard by s at 100, by b at 2000; b: heard by s at 1400, never by a.
    expect(p.heardByAll).toEqual({ median: 2000, p90: 2000, max: 2000, count: 1 });
    expect(p.heardByHalf.max).toBe(1400);
    expect(p.spread).toEqual({ median: 1800, p90: 1800, max: 1800, count: 1 });
    expect(p.notHeardByAll).toBe(1);
    expect(p.seedAdmitsBySecond).toEqual([1, 1]);
  });

  it('counts per second, skipping joiners never admitted', () => {
    expect(bySecond([0, 999, 1000, null, 3500])).toEqual([2, 1, 0, 1]);
    expect(bySecond([null])).toEqual([]);
  });
});
