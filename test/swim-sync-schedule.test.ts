import { describe, expect, it } from 'vitest';
import { defaultSwimConfig } from '../agent/membership/swim/config.ts';
import { SwimCore } from '../agent/membership/swim/core.ts';
import { Roster } from '../agent/membership/swim/overlay.ts';
import { FAR_EVERY, followUpSyncs, pickOne, SyncSchedule } from '../agent/membership/swim/sync-schedule.ts';
import { MemberTable } from '../agent/membership/swim/table.ts';
import type { Effect } from '../agent/membership/swim/types.ts';
import { seededRandom } from '../shared/seeded-random.ts';
import { ids } from './helpers/swim.ts';

const syncsOf = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'sync' ? [e.with] : []));

/** A core in a pool of `n` with only the members `syncable` accepts as anti-entropy partners. */
function core(n: number, seed: number, syncable?: (id: string) => boolean, connected?: () => string[]): SwimCore {
  const cfg = { ...defaultSwimConfig(), syncInterval: 10_000 };
  const roster = new Roster(
    ids(n).map((id) => ({ id, incarnation: 0, state: 'alive' as const })),
    cfg.rings,
    0,
  );
  return new SwimCore({ self: 'node-000', config: cfg, rand: seededRandom(seed), now: 0, roster, syncable, connected });
}

/** Ticks every 100 ms over [from, to), returning the syncs asked for with their times and whether with a neighbour. */
function syncs(c: SwimCore, from: number, to: number): { at: number; with: string; near: boolean }[] {
  const out: { at: number; with: string; near: boolean }[] = [];
  for (let t = from; t < to; t += 100) {
    const near = c.neighbours();
    for (const w of syncsOf(c.step({ type: 'tick', now: t }))) out.push({ at: t, with: w, near: near.includes(w) });
  }
  return out;
}

describe('anti-entropy schedule (who to sync with, and when)', () => {
  it('syncs routinely with a ring neighbour once per interval (20 s at 40 members)', () => {
    const c = core(40, 1);
    const got = syncs(c, 0, 120_000);
    expect(got.length).toBeGreaterThanOrEqual(5);
    expect(got.length).toBeLessThanOrEqual(6);
    for (const s of got) expect(s.near, `${s.with} at ${s.at}`).toBe(true);
  });

  it('passes a joiner on with 2⌈log₂(N + 1)⌉ follow-ups, a follow-up interval apart, partners from the whole pool', () => {
    const partners = new Set<string>();
    const budget = followUpSyncs(41);
    expect(budget).toBe(12);
    for (let seed = 1; seed <= 20; seed++) {
      const c = core(40, seed);
      syncs(c, 0, 20_000);
      const fx = c.step({
        type: 'sync',
        entries: [{ id: `joiner-${seed}`, incarnation: 0, state: 'alive' }],
        now: 20_000,
      });
      expect(fx.some((e) => e.type === 'event' && e.event === 'member-joined')).toBe(true);
      const next = syncs(c, 20_000, 30_000);
      // Within one follow-up interval (400 ms), not the routine 10 s, then every 400 ms.
      expect(next[0]!.at - 20_000).toBeLessThanOrEqual(400);
      const follow = next.slice(0, budget);
      for (let i = 1; i < follow.length; i++) expect(follow[i]!.at - follow[i - 1]!.at).toBe(400);
      for (const s of follow) if (!s.near) partners.add(s.with);
      // The budget, then routine again (one more at most within the 10 s window).
      expect(next.length).toBeGreaterThanOrEqual(budget);
      expect(next.length).toBeLessThanOrEqual(budget + 1);
    }
    // Pool-wide: most follow-ups go beyond the 6 ring neighbours of 40.
    expect(partners.size).toBeGreaterThan(25);
  });

  it('sends follow-ups to connected members, every FAR_EVERY-th pool-wide', () => {
    const linked = ['node-011', 'node-022', 'node-033'];
    const c = core(40, 6, undefined, () => ['node-000', ...linked]);
    syncs(c, 0, 20_000);
    c.step({ type: 'update', update: { kind: 'alive', id: 'joiner-x', incarnation: 0 }, now: 20_000 });
    const follow = syncs(c, 20_000, 25_000);
    expect(follow.length).toBe(followUpSyncs(41));
    follow.forEach((s, i) => {
      if ((i + 1) % FAR_EVERY !== 0) expect(linked, `follow-up ${i}`).toContain(s.with);
    });
    // The pool-wide ones reach beyond the connections (never ourselves).
    const far = follow.filter((_, i) => (i + 1) % FAR_EVERY === 0).map((s) => s.with);
    expect(far.length).toBe(Math.floor(follow.length / FAR_EVERY));
    expect(far.some((id) => !linked.includes(id))).toBe(true);
    expect(far).not.toContain('node-000');
  });

  it('marks follow-ups as news and routine syncs not (the shell skips the hash ask for news)', () => {
    const c = core(40, 8);
    const routine = c
      .step({ type: 'tick', now: 0 })
      .concat(...[1, 2, 3].map((k) => c.step({ type: 'tick', now: k * 10_000 })));
    const asked = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'sync' ? [e.news] : []));
    expect(asked(routine).length).toBeGreaterThan(0);
    expect(asked(routine)).not.toContain(true);
    c.step({ type: 'update', update: { kind: 'alive', id: 'joiner-n', incarnation: 0 }, now: 40_000 });
    const after: boolean[] = [];
    for (let t = 40_000; t < 60_000; t += 100) after.push(...asked(c.step({ type: 'tick', now: t })));
    // The budget's syncs are news; the routine ones after it are not.
    expect(after.slice(0, followUpSyncs(41))).toEqual(Array(followUpSyncs(41)).fill(true));
    expect(after.slice(followUpSyncs(41))).not.toContain(true);
  });

  it('draws pool-wide when no connected member fits', () => {
    const c = core(
      40,
      7,
      (id) => id !== 'node-011',
      () => ['node-011'],
    );
    syncs(c, 0, 20_000);
    c.step({ type: 'update', update: { kind: 'alive', id: 'joiner-y', incarnation: 0 }, now: 20_000 });
    const follow = syncs(c, 20_000, 25_000);
    expect(follow.length).toBe(followUpSyncs(41));
    expect(follow.map((s) => s.with)).not.toContain('node-011');
  });

  it('also passes on a joiner learnt from a broadcast', () => {
    const c = core(40, 5);
    syncs(c, 0, 20_000);
    c.step({ type: 'update', update: { kind: 'alive', id: 'joiner-x', incarnation: 0 }, now: 20_000 });
    expect(syncs(c, 20_000, 25_000).length).toBe(followUpSyncs(41));
  });

  it('does not follow up a sync that brought nothing new', () => {
    const [c, twin] = [core(40, 3), core(40, 3)];
    syncs(c, 0, 20_000);
    syncs(twin, 0, 20_000);
    c.step({ type: 'sync', entries: [{ id: 'node-005', incarnation: 0, state: 'alive' }], now: 20_000 });
    // The same syncs as a twin that was told nothing.
    expect(syncs(c, 20_000, 60_000)).toEqual(syncs(twin, 20_000, 60_000));
  });

  it('never picks a member whose address it lacks; falls back to the pool when no neighbour has one', () => {
    const withRecord = new Set(['node-017', 'node-023']);
    const c = core(40, 4, (id) => withRecord.has(id));
    const got = syncs(c, 0, 60_000);
    expect(got.length).toBeGreaterThan(0);
    for (const s of got) expect(withRecord.has(s.with)).toBe(true);
    const none = core(40, 4, () => false);
    expect(syncs(none, 0, 60_000)).toEqual([]);
  });
});

describe('MemberTable.randomLive', () => {
  it('draws uniformly over roster and fresh members, never one that is not live', () => {
    const roster = new Roster(
      ids(6).map((id) => ({ id, incarnation: 0, state: 'alive' as const })),
      3,
      0,
    );
    const t = new MemberTable(roster, 3);
    t.set({ id: 'node-002', incarnation: 0, state: 'dead', since: 0 });
    for (const id of ['x', 'y', 'z']) t.set({ id, incarnation: 0, state: 'alive', since: 0 });
    t.delete('y');
    const rand = seededRandom(4);
    const counts = new Map<string, number>();
    let misses = 0;
    for (let i = 0; i < 8000; i++) {
      const id = t.randomLive(rand);
      if (id === undefined) misses++;
      else counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['node-000', 'node-001', 'node-003', 'node-004', 'node-005', 'x', 'z']);
    // 8 slots (6 roster, 2 fresh), one of them dead: each live one ~1/8 of the draws.
    for (const n of counts.values()) expect(Math.abs(n - 1000)).toBeLessThan(150);
    expect(Math.abs(misses - 1000)).toBeLessThan(150);
  });
});

describe('pickOne', () => {
  it('picks uniformly among the accepted, never the refused', () => {
    const rand = seededRandom(9);
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const id = pickOne(ids(10), (x) => x !== 'node-003', rand)!;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.has('node-003')).toBe(false);
    expect(counts.size).toBe(9);
    for (const n of counts.values()) expect(Math.abs(n - 4000 / 9)).toBeLessThan(100);
    expect(pickOne([], () => true, rand)).toBeUndefined();
  });

  it('schedules the first routine sync at a random point of the interval', () => {
    const cfg = { ...defaultSwimConfig(), syncInterval: 10_000 };
    const at = [1, 2, 3, 4].map((s) => new SyncSchedule(cfg, 'a', {}, seededRandom(s), 0, 5).wakeAt);
    for (const t of at) expect(t).toBeGreaterThanOrEqual(0);
    for (const t of at) expect(t).toBeLessThan(10_000);
    expect(new Set(at).size).toBe(4);
  });
});
