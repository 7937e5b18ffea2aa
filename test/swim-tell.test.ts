import { encode } from 'cborg';
import { describe, expect, it } from 'vitest';
import { summarize } from '../agent/membership/swim/digest.ts';
import { neighbourhood, Roster } from '../agent/membership/swim/overlay.ts';
import { MemberTable } from '../agent/membership/swim/table.ts';
import { decodeFrame, frameToWire, type ProbeFrame, speakerOf } from '../shared/wire/probe.ts';
import { coreIn, firstPing, ids, run, seen, silent, tells, told, update } from './helpers/swim.ts';

const members = ids(40);
const roster = new Roster(
  members.map((id) => ({ id, incarnation: 0, state: 'alive' as const })),
  3,
  0,
);
const observersOf = (id: string) => neighbourhood(id, 3, new MemberTable(roster, 3)).observers;

describe('targeted suspicion: told to the suspect and its observers, never flooded', () => {
  it('tells the suspect and its other observers, and re-sends while the suspicion holds (bounded)', () => {
    const a = coreIn('node-000', members);
    const p = firstPing(a);
    const fx = silent(a, p.at + 100, p.at + 1100);
    expect(told(fx)).toEqual([]);
    const first = tells(fx);
    expect(first).toHaveLength(1);
    const expected = [p.to, ...observersOf(p.to).filter((o) => o !== 'node-000')];
    expect([...first[0]!.to].sort()).toEqual([...new Set(expected)].sort());
    expect(observersOf(p.to)).toContain('node-000'); // we probe it, so we are one of its observers
    // Nobody refutes: re-sent once per probe interval, tellRetransmits (3) times, then never again.
    const at = p.at + 1100;
    const again = tells(run(a, at, at + 3000)).filter((t) => t.update.kind === 'suspect' && t.update.id === p.to);
    expect(again).toHaveLength(3);
    for (const t of again) expect(t.to).toEqual(first[0]!.to);
    // The timeout (12 s with no confirmation) then floods the death.
    const later = run(a, at + 3000, at + 13000);
    expect(tells(later).filter((t) => t.update.id === p.to)).toEqual([]);
    expect(told(later).filter((u) => u.id === p.to)).toEqual([
      { kind: 'dead', id: p.to, incarnation: 0, from: 'node-000' },
    ]);
  });

  it('stops re-sending once the suspect refutes', () => {
    const a = coreIn('node-000', members);
    const p = firstPing(a);
    silent(a, p.at + 100, p.at + 1100);
    expect(a.get(p.to)?.state).toBe('suspect');
    const fx = a.step(update({ kind: 'alive', id: p.to, incarnation: 1 }, p.at + 1150));
    expect(seen(fx)).toEqual([`member-recovered:${p.to}`]);
    // No more copies of the refuted suspicion (a new probe of it may start another, at incarnation 1).
    const resent = tells(run(a, p.at + 1200, p.at + 6000)).filter((t) => t.update.id === p.to);
    expect(resent.filter((t) => t.update.incarnation === 0)).toEqual([]);
  });

  it('an observer told of a suspicion holds it without a timer; a told refutation clears it', () => {
    const a = coreIn('node-000', members);
    a.step({ type: 'tick', now: 0 });
    const x = a.probed()[0]!;
    const fx = a.step(update({ kind: 'suspect', id: x, incarnation: 0, from: 'node-039', evidence: 'timeout' }, 10));
    expect(seen(fx)).toEqual([`member-suspect:${x}`]);
    expect(fx.filter((e) => e.type === 'tell' || e.type === 'broadcast')).toEqual([]);
    expect(seen(a.step(update({ kind: 'alive', id: x, incarnation: 1 }, 20)))).toEqual([`member-recovered:${x}`]);
  });
});

describe('targeted refutation', () => {
  const accused = (a: ReturnType<typeof coreIn>, from: string, incarnation: number, now: number) =>
    a.step(update({ kind: 'suspect', id: 'node-000', incarnation, from, evidence: 'timeout' }, now));

  it('refutes to its observers and the accuser, re-sends a bounded number of times, floods nothing', () => {
    const a = coreIn('node-000', members);
    a.step({ type: 'tick', now: 0 });
    const fx = accused(a, 'node-017', 0, 5);
    expect(told(fx)).toEqual([]);
    const alive = { kind: 'alive', id: 'node-000', incarnation: 1 };
    expect(tells(fx)).toEqual([{ type: 'tell', to: expect.any(Array), update: alive }]);
    expect([...tells(fx)[0]!.to].sort()).toEqual([...new Set([...observersOf('node-000'), 'node-017'])].sort());
    const again = tells(run(a, 100, 6000)).filter((t) => t.update.id === 'node-000');
    expect(again.map((t) => t.update)).toEqual([alive, alive, alive]);
    expect(told(run(a, 6000, 9000))).toEqual([]);
  });

  it('answers an older suspicion to its accuser alone (it missed the refutation)', () => {
    const a = coreIn('node-000', members);
    a.step({ type: 'tick', now: 0 });
    accused(a, 'node-017', 0, 5);
    const fx = accused(a, 'node-023', 0, 50);
    expect(tells(fx)).toEqual([
      { type: 'tell', to: ['node-023'], update: { kind: 'alive', id: 'node-000', incarnation: 1 } },
    ]);
    expect(a.incarnation).toBe(1);
    // The late accuser joins the re-sends of the refutation.
    const again = tells(run(a, 100, 1200)).filter((t) => t.update.id === 'node-000');
    expect(again.at(-1)?.to).toContain('node-023');
  });

  it('a newer refutation replaces the queued one', () => {
    const a = coreIn('node-000', members);
    a.step({ type: 'tick', now: 0 });
    accused(a, 'node-017', 0, 5);
    accused(a, 'node-017', 1, 500);
    expect(a.incarnation).toBe(2);
    const again = tells(run(a, 600, 6000)).filter((t) => t.update.id === 'node-000');
    expect(again.map((t) => t.update.incarnation)).toEqual([2, 2, 2]);
  });
});

describe('anti-entropy compares views, not incarnations of live members', () => {
  it('summaries agree on alive at different incarnations and on suspect, differ on dead', () => {
    const base = [
      { id: 'a', incarnation: 0, state: 'alive' as const },
      { id: 'b', incarnation: 2, state: 'alive' as const },
    ];
    const refuted = [
      { id: 'a', incarnation: 3, state: 'alive' as const },
      { id: 'b', incarnation: 2, state: 'suspect' as const },
    ];
    expect(summarize(refuted)).toEqual(summarize(base));
    expect(summarize([base[0]!, { id: 'b', incarnation: 2, state: 'dead' as const }])).not.toEqual(summarize(base));
  });
});

describe('the update frame on the probe protocol', () => {
  const roundTrip = (f: ProbeFrame) => decodeFrame(encode(frameToWire(f)));

  it('carries a refutation and a suspicion as small CBOR arrays', () => {
    const alive: ProbeFrame = { t: 'update', update: { kind: 'alive', id: 'node-1', incarnation: 3 } };
    const suspect: ProbeFrame = {
      t: 'update',
      update: { kind: 'suspect', id: 'node-1', incarnation: 2, from: 'node-2', evidence: 'refused' },
    };
    expect(roundTrip(alive)).toEqual(alive);
    expect(roundTrip(suspect)).toEqual(suspect);
    expect(encode(frameToWire(suspect)).byteLength).toBeLessThan(32);
  });

  it('refuses malformed or oversized updates, never throwing', () => {
    const bad: unknown[][] = [
      [5, 1],
      [5, -1, 'node-1'],
      [5, 1.5, 'node-1'],
      [5, 0, 'x'.repeat(129)],
      [5, 0, ''],
      [5, 0, 'node-1', 'node-2'],
      [5, 0, 'node-1', 'node-2', 7],
      [5, 0, 'node-1', 'y'.repeat(200), 0],
      [5, 0, 'node-1', 'node-2', 0, 'extra'],
      [5, 0, { id: 'node-1' }],
    ];
    for (const v of bad) expect(typeof decodeFrame(encode(v))).toBe('string');
  });

  it('names who must have sent an update: the accuser of a suspicion, the member for its own life', () => {
    expect(speakerOf({ kind: 'alive', id: 'a', incarnation: 1 })).toBe('a');
    expect(speakerOf({ kind: 'suspect', id: 'a', incarnation: 1, from: 'b', evidence: 'timeout' })).toBe('b');
    expect(speakerOf({ kind: 'dead', id: 'a', incarnation: 1, from: 'c' })).toBe('c');
  });
});
