import { describe, expect, it } from 'vitest';
import { Tracker } from './bench/lib/tracker.ts';

/** Raw member events as the bench host records them. */
function joined(t: Tracker, observer: string, peer: string, at = 1): void {
  t.ingest(observer, { agent: 0, type: 'member-joined', peerId: peer, at });
}

describe('bench tracker: why views are short', () => {
  it('tells members whose join never got through from news that did not spread', () => {
    const t = new Tracker();
    const ids = ['a', 'b', 'c', 'd'];
    for (const id of ids) t.add(id);
    t.setTarget(ids.length);
    // a, b, c formed a pool; c has not heard of b; d's join never reached anyone.
    joined(t, 'a', 'b');
    joined(t, 'a', 'c');
    joined(t, 'b', 'a');
    joined(t, 'b', 'c');
    joined(t, 'c', 'a');
    const why = t.missingPairs(ids);
    expect(why.neverJoined).toEqual(['d']);
    // d misses a, b, c; a, b, c miss d; c misses b.
    expect(why.missing).toBe(7);
    expect(why.ofJoined).toBe(1);
  });

  it('does not count a member that is seen but sees nobody yet as never joined', () => {
    const t = new Tracker();
    for (const id of ['a', 'b']) t.add(id);
    t.setTarget(2);
    joined(t, 'a', 'b');
    const why = t.missingPairs(['a', 'b']);
    expect(why.neverJoined).toEqual([]);
    expect(why).toMatchObject({ missing: 1, ofJoined: 1 });
  });

  it('counts a member that died after joining as missing, not never joined', () => {
    const t = new Tracker();
    for (const id of ['a', 'b']) t.add(id);
    t.setTarget(2);
    joined(t, 'a', 'b');
    joined(t, 'b', 'a');
    t.ingest('a', { agent: 0, type: 'member-dead', peerId: 'b', at: 2 });
    expect(t.missingPairs(['a', 'b'])).toEqual({ missing: 1, neverJoined: [], ofJoined: 1 });
  });
});
