import { describe, expect, it } from 'vitest';
import { Awareness } from '../agent/membership/swim/awareness.ts';
import { defaultSwimConfig, syncIntervalFor } from '../agent/membership/swim/config.ts';
import { supersedes } from '../agent/membership/swim/precedence.ts';
import { Suspicions, suspicionTimeout } from '../agent/membership/swim/suspicion.ts';
import type { Liveness } from '../agent/membership/swim/types.ts';

describe('suspicion timeout (Lifeguard)', () => {
  it('starts at max, shrinks on a log curve with confirmations, and floors at min', () => {
    const t = [0, 1, 2, 3].map((c) => suspicionTimeout(c, 2, 3000, 12000));
    expect(t[0]).toBe(12000);
    expect(t[1]).toBe(Math.floor(12000 - 9000 * (Math.log(2) / Math.log(3))));
    expect(t[1]).toBeLessThan(t[0]!);
    expect(t[2]).toBe(3000);
    expect(t[3]).toBe(3000);
  });

  it('counts distinct suspectors only, and refused evidence uses its short fixed timeout', () => {
    const s = Suspicions.of(defaultSwimConfig());
    expect(s.start('x', 4, 'me', 1000, 'timeout')).toBe(true);
    expect(s.wakeAt).toBe(1000 + 12000);
    s.of('x', 4).confirm('a');
    s.of('x', 4).confirm('a');
    expect(s.wakeAt).toBe(1000 + suspicionTimeout(1, 2, 3000, 12000));
    s.of('x', 4).confirm('b');
    expect(s.wakeAt).toBe(4000);
    expect(s.start('x', 4, 'me', 1200, 'refused')).toBe(true);
    expect(s.wakeAt).toBe(1700);
    expect(s.expired(1699)).toEqual([]);
    expect(s.expired(1700)).toEqual([['x', 4]]);
    // A suspicion at a new incarnation starts over, without our timer.
    s.of('x', 5);
    expect(s.wakeAt).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('precedence', () => {
  const c = (state: Liveness, incarnation: number) => ({ state, incarnation });
  it.each([
    ['alive', 2, 'alive', 1, true],
    ['alive', 1, 'alive', 1, false],
    ['suspect', 1, 'alive', 1, true],
    ['alive', 1, 'suspect', 1, false],
    ['alive', 2, 'suspect', 1, true],
    ['dead', 1, 'suspect', 1, true],
    ['suspect', 1, 'dead', 1, false],
    ['suspect', 5, 'dead', 1, false],
    ['alive', 1, 'dead', 1, false],
    ['alive', 2, 'dead', 1, true],
    ['left', 1, 'dead', 1, true],
    ['dead', 1, 'left', 1, false],
    ['alive', 0, 'left', 1, false],
    ['dead', 0, 'alive', 1, false],
  ] as const)('%s@%i over %s@%i → %s', (ns, ni, cs, ci, want) => {
    expect(supersedes(c(ns, ni), c(cs, ci))).toBe(want);
  });
});

describe('awareness and sync scaling', () => {
  it('stays within 0..max and scales durations by score + 1', () => {
    const a = new Awareness(8);
    a.apply(-1);
    expect(a.score).toBe(0);
    for (let i = 0; i < 20; i++) a.apply(1);
    expect(a.score).toBe(8);
    expect(a.scale(1000)).toBe(9000);
  });

  it('scales the push-pull interval with log2 N above 32 members', () => {
    const c = defaultSwimConfig();
    expect(syncIntervalFor(c, 32)).toBe(30000);
    expect(syncIntervalFor(c, 1000)).toBe(30000 * 6);
    expect(syncIntervalFor(c, 10000)).toBe(30000 * 10);
  });
});
