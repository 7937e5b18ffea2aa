import { describe, expect, it } from 'vitest';
import { defaultSwimConfig } from '../agent/membership/swim/config.ts';
import { SwimCore } from '../agent/membership/swim/core.ts';
import { neighbourhood, Roster } from '../agent/membership/swim/overlay.ts';
import { MemberTable } from '../agent/membership/swim/table.ts';
import type { Update } from '../agent/membership/swim/types.ts';
import { seededRandom } from '../shared/seeded-random.ts';
import { coreIn, firstPing, ids, run, seen, sent, silent, tells, told, update } from './helpers/swim.ts';

describe('ring overlay', () => {
  it('gives every member between 1 and K observers, consistent with who probes it', () => {
    const members = ids(40);
    const roster = new Roster(
      members.map((id) => ({ id, incarnation: 0, state: 'alive' as const })),
      3,
      0,
    );
    const hoods = new Map(members.map((id) => [id, neighbourhood(id, 3, new MemberTable(roster, 3))]));
    let slots = 0;
    for (const x of members) {
      const probers = members.filter((y) => hoods.get(y)!.subjects.includes(x)).sort();
      expect(probers).toEqual([...hoods.get(x)!.observers].sort());
      expect(probers.length).toBeGreaterThanOrEqual(1);
      expect(probers.length).toBeLessThanOrEqual(3);
      expect(probers).not.toContain(x);
      slots += probers.length;
    }
    expect(slots / members.length).toBeGreaterThan(2.5);
  });

  it('emits neighbours when a joiner lands next to us and when it dies, bounded by 2K', () => {
    const a = coreIn('node-000', ids(20));
    const first = a.step({ type: 'tick', now: 0 }).find((e) => e.type === 'neighbours');
    expect(first?.type === 'neighbours' && first.ids.length).toBeLessThanOrEqual(6);
    let joiner: string | undefined;
    for (let i = 0; i < 200 && !joiner; i++) {
      const fx = a.step(update({ kind: 'alive', id: `new-${i}`, incarnation: 0 }, 10));
      const n = fx.find((e) => e.type === 'neighbours');
      if (n?.type === 'neighbours') {
        expect(n.ids).toContain(`new-${i}`);
        expect(n.ids.length).toBeLessThanOrEqual(6);
        joiner = `new-${i}`;
      }
    }
    expect(joiner).toBeDefined();
    const fx = a.step(update({ kind: 'dead', id: joiner!, incarnation: 0, from: 'node-001' }, 20));
    const n = fx.find((e) => e.type === 'neighbours');
    expect(n?.type === 'neighbours' && n.ids).not.toContain(joiner);
    expect(seen(fx)).toContain(`member-dead:${joiner}`);
  });

  it('probes everyone else when there are fewer members than K + 1', () => {
    const a = coreIn('node-000', ids(3));
    a.step({ type: 'tick', now: 0 });
    expect(a.probed().sort()).toEqual(['node-001', 'node-002']);
  });
});

describe('probing', () => {
  it('answers ping with ack, and a direct ack ends the probe without suspicion', () => {
    const a = coreIn('node-000', ids(10));
    expect(sent(a.step({ type: 'probe', from: 'x', msg: { t: 'ping', seq: 5 }, now: 0 }))).toEqual([
      { type: 'send', to: 'x', msg: { t: 'ack', seq: 5 } },
    ]);
    const p = firstPing(a);
    expect(a.probed()).toContain(p.to);
    a.step({ type: 'probe', from: p.to, msg: { t: 'ack', seq: p.seq }, now: p.at + 30 });
    const later = run(a, p.at + 100, p.at + 2000);
    expect(told(later).filter((u) => u.kind === 'suspect' && u.id === p.to)).toEqual([]);
    expect(a.awareness).toBe(0);
  });

  it('asks helpers after the probe timeout; a relayed ack clears the target', () => {
    const a = coreIn('node-000', ids(10));
    const p = firstPing(a);
    const fx = run(a, p.at + 100, p.at + 500);
    const reqs = sent(fx).filter((e) => e.msg.t === 'ping-req');
    expect(reqs).toHaveLength(2);
    for (const r of reqs) {
      expect(r.to).not.toBe(p.to);
      expect(r.msg).toEqual({ t: 'ping-req', seq: p.seq, target: p.to });
    }
    a.step({ type: 'probe', from: reqs[0]!.to, msg: { t: 'ack', seq: p.seq }, now: p.at + 600 });
    expect(told(run(a, p.at + 700, p.at + 2000)).filter((u) => u.kind === 'suspect' && u.id === p.to)).toEqual([]);
    expect(a.get(p.to)?.state).toBe('alive');
  });

  it('serves ping-req: pings the target, relays its ack, or nacks on timeout', () => {
    const b = coreIn('node-001', ids(10));
    const fx = b.step({ type: 'probe', from: 'node-005', msg: { t: 'ping-req', seq: 9, target: 'node-007' }, now: 0 });
    const ping = sent(fx)[0]!;
    expect(ping.to).toBe('node-007');
    expect(ping.msg.t).toBe('ping');
    const relay = b.step({ type: 'probe', from: 'node-007', msg: { t: 'ack', seq: ping.msg.seq }, now: 20 });
    expect(sent(relay)).toEqual([{ type: 'send', to: 'node-005', msg: { t: 'ack', seq: 9 } }]);
    b.step({ type: 'probe', from: 'node-005', msg: { t: 'ping-req', seq: 10, target: 'node-008' }, now: 100 });
    const nacks = sent(run(b, 200, 700)).filter((e) => e.msg.t === 'nack');
    expect(nacks).toEqual([{ type: 'send', to: 'node-005', msg: { t: 'nack', seq: 10 } }]);
  });

  it('suspects a silent subject at the end of the period and declares it dead after the timeout', () => {
    const a = coreIn('node-000', ids(10));
    const p = firstPing(a);
    const fx = silent(a, p.at + 100, p.at + 1100);
    expect(told(fx)).toEqual([]); // a suspicion is not flooded: told to the suspect and its observers
    const told0 = tells(fx);
    expect(told0).toHaveLength(1);
    expect(told0[0]!.update).toEqual({
      kind: 'suspect',
      id: p.to,
      incarnation: 0,
      from: 'node-000',
      evidence: 'timeout',
    });
    expect(told0[0]!.to[0]).toBe(p.to);
    expect(told0[0]!.to).not.toContain('node-000');
    expect(a.get(p.to)?.state).toBe('suspect');
    expect(a.awareness).toBe(0); // the helpers nacked: the subject, not we, is silent
    // Two other observers confirm: the timeout shrinks to the minimum (3 s).
    const at = p.at + 1000;
    for (const from of ['node-003', 'node-004']) {
      a.step(update({ kind: 'suspect', id: p.to, incarnation: 0, from, evidence: 'timeout' }, at + 10));
    }
    expect(a.get(p.to)?.state).toBe('suspect');
    const dead = told(run(a, at + 100, at + 3200)).filter((u) => u.kind === 'dead');
    expect(dead).toEqual([{ kind: 'dead', id: p.to, incarnation: 0, from: 'node-000' }]);
    expect(a.get(p.to)?.state).toBe('dead');
  });

  it('does not raise awareness when helpers nack (the target, not we, is the problem)', () => {
    const a = coreIn('node-000', ids(10));
    const p = firstPing(a);
    const reqs = sent(run(a, p.at + 100, p.at + 500)).filter((e) => e.msg.t === 'ping-req');
    a.step({ type: 'probe', from: reqs[0]!.to, msg: { t: 'nack', seq: p.seq }, now: p.at + 800 });
    run(a, p.at + 900, p.at + 1100);
    expect(a.awareness).toBe(0);
    expect(a.get(p.to)?.state).toBe('suspect');
  });

  it('suspects a refused subject at once and declares it dead after refusedSuspicionTimeout', () => {
    const a = coreIn('node-000', ids(10));
    a.step({ type: 'tick', now: 0 });
    const target = a.probed()[0]!;
    const fx = a.step({ type: 'unreachable', id: target, evidence: 'refused', now: 50 });
    expect(tells(fx).map((t) => t.update)).toEqual([
      { kind: 'suspect', id: target, incarnation: 0, from: 'node-000', evidence: 'refused' },
    ]);
    expect(told(run(a, 100, 500)).filter((u) => u.kind === 'dead')).toEqual([]);
    expect(told(a.step({ type: 'tick', now: 550 }))).toContainEqual({
      kind: 'dead',
      id: target,
      incarnation: 0,
      from: 'node-000',
    });
    // Someone we do not observe: the shell's failed dial is no evidence for us.
    const other = ids(10).find((id) => id !== 'node-000' && !a.neighbours().includes(id))!;
    expect(a.step({ type: 'unreachable', id: other, evidence: 'refused', now: 600 })).toEqual([]);
  });

  it('only marks suspect (no timer, no dead broadcast) when another node suspects', () => {
    const a = coreIn('node-000', ids(10));
    a.step({ type: 'tick', now: 0 });
    const x = ids(10).find((id) => id !== 'node-000' && !a.neighbours().includes(id))!;
    const fx = a.step(update({ kind: 'suspect', id: x, incarnation: 0, from: 'node-001', evidence: 'refused' }, 0));
    expect(seen(fx)).toContain(`member-suspect:${x}`);
    const fx2 = run(a, 100, 11900);
    expect(told(fx2).filter((u) => u.kind === 'dead' && u.id === x)).toEqual([]);
    expect(a.get(x)?.state).toBe('suspect');
    // Neither dead nor refuted within suspicionMaxTimeout (12 s): the refutation missed us; it lapses.
    expect(seen(run(a, 11900, 12100))).toContain(`member-recovered:${x}`);
    expect(a.get(x)).toMatchObject({ state: 'alive', incarnation: 0 });
  });
});

describe('stall guard', () => {
  it('cancels probes in flight across our own 2 s stall and defers running timers', () => {
    const a = coreIn('node-000', ids(10));
    const p = firstPing(a);
    // Our loop blocks for 2 s right after the ping: the next tick comes 2 s later.
    const fx = run(a, p.at + 2000, p.at + 2500);
    expect(told(fx).filter((u) => u.kind === 'suspect')).toEqual([]);
    expect(a.get(p.to)?.state).toBe('alive');
    expect(a.awareness).toBe(0);
    // A refused suspicion due at +500 ms is deferred by a stall spanning it.
    const t = p.at + 3000;
    const target = a.probed()[0]!;
    a.step({ type: 'unreachable', id: target, evidence: 'refused', now: t });
    const after = a.step({ type: 'tick', now: t + 2000 });
    expect(told(after).filter((u) => u.kind === 'dead')).toEqual([]);
    expect(told(a.step({ type: 'tick', now: t + 2500 })).filter((u) => u.kind === 'dead')).toHaveLength(1);
  });
});

describe('refutation and precedence in the core', () => {
  it('refutes a suspicion of itself to those who hold it, a death to the pool', () => {
    const a = coreIn('node-000', ids(5));
    const fx = a.step(
      update({ kind: 'suspect', id: 'node-000', incarnation: 0, from: 'node-001', evidence: 'timeout' }, 5),
    );
    expect(told(fx)).toEqual([]);
    expect(tells(fx)).toEqual([
      {
        type: 'tell',
        to: expect.arrayContaining(['node-001']),
        update: { kind: 'alive', id: 'node-000', incarnation: 1 },
      },
    ]);
    expect(a.incarnation).toBe(1);
    expect(a.awareness).toBe(1);
    // A death at an older incarnation: whoever took it never heard the refutation, so the pool hears our life.
    expect(told(a.step(update({ kind: 'dead', id: 'node-000', incarnation: 0, from: 'node-001' }, 6)))).toEqual([
      { kind: 'alive', id: 'node-000', incarnation: 1 },
    ]);
    expect(a.incarnation).toBe(1);
    expect(told(a.step(update({ kind: 'dead', id: 'node-000', incarnation: 1, from: 'node-001' }, 7)))).toEqual([
      { kind: 'alive', id: 'node-000', incarnation: 2 },
    ]);
    expect(a.get('node-000')).toMatchObject({ state: 'alive', incarnation: 2 });
  });

  it('recovers a suspect on a refutation, and revives a dead member only at a higher incarnation', () => {
    const a = coreIn('node-000', ids(5));
    a.step(update({ kind: 'suspect', id: 'node-002', incarnation: 0, from: 'node-001', evidence: 'timeout' }, 1));
    expect(seen(a.step(update({ kind: 'alive', id: 'node-002', incarnation: 0 }, 2)))).toEqual([]);
    expect(seen(a.step(update({ kind: 'alive', id: 'node-002', incarnation: 1 }, 3)))).toEqual([
      'member-recovered:node-002',
    ]);
    a.step(update({ kind: 'dead', id: 'node-002', incarnation: 1, from: 'node-001' }, 4));
    expect(
      seen(a.step(update({ kind: 'suspect', id: 'node-002', incarnation: 9, from: 'x', evidence: 'timeout' }, 5))),
    ).toEqual([]);
    expect(seen(a.step(update({ kind: 'alive', id: 'node-002', incarnation: 1 }, 6)))).toEqual([]);
    expect(seen(a.step(update({ kind: 'alive', id: 'node-002', incarnation: 2 }, 7)))).toEqual([
      'member-recovered:node-002',
    ]);
  });

  it('announces a member that was not in its initial table, and reports joins', () => {
    const cfg = defaultSwimConfig();
    const j = new SwimCore({ self: 'joiner', config: cfg, rand: seededRandom(1), now: 0 });
    expect(told(j.step({ type: 'tick', now: 0 }))).toEqual([{ kind: 'alive', id: 'joiner', incarnation: 0 }]);
    const a = coreIn('node-000', ids(5));
    expect(seen(a.step(update({ kind: 'alive', id: 'joiner', incarnation: 0 }, 1)))).toEqual(['member-joined:joiner']);
  });
});

describe('leave and reaping', () => {
  it('leaves with incarnation + 1 and goes quiet; peers mark it left', () => {
    const a = coreIn('node-000', ids(5));
    expect(told(a.step({ type: 'leave', now: 10 }))).toEqual([{ kind: 'left', id: 'node-000', incarnation: 1 }]);
    expect(run(a, 100, 5000).filter((e) => e.type !== 'neighbours')).toEqual([]);
    const b = coreIn('node-001', ids(5));
    expect(seen(b.step(update({ kind: 'left', id: 'node-000', incarnation: 1 }, 20)))).toEqual([
      'member-left:node-000',
    ]);
    expect(b.neighbours()).not.toContain('node-000');
  });

  it('forgets dead members after reapAfter but keeps a tombstone against replays', () => {
    const a = coreIn('node-000', ids(5), { reapAfter: 1000 });
    a.step(update({ kind: 'dead', id: 'node-003', incarnation: 2, from: 'node-001' }, 0));
    run(a, 100, 1200);
    expect(a.get('node-003')).toBeUndefined();
    expect(a.digest()).toContainEqual({ id: 'node-003', incarnation: 2, state: 'dead' });
    expect(seen(a.step(update({ kind: 'alive', id: 'node-003', incarnation: 2 }, 1300)))).toEqual([]);
    expect(a.step({ type: 'sync', entries: [{ id: 'node-003', incarnation: 1, state: 'alive' }], now: 1400 })).toEqual(
      [],
    );
    expect(seen(a.step(update({ kind: 'alive', id: 'node-003', incarnation: 3 }, 1500)))).toEqual([
      'member-joined:node-003',
    ]);
  });
});

describe('anti-entropy', () => {
  it('merges a peer table by precedence without resurrecting older entries', () => {
    const a = coreIn('node-000', ids(5));
    a.step(update({ kind: 'dead', id: 'node-004', incarnation: 3, from: 'node-001' }, 0));
    const fx = a.step({
      type: 'sync',
      now: 10,
      entries: [
        { id: 'fresh-1', incarnation: 0, state: 'alive' },
        { id: 'fresh-2', incarnation: 4, state: 'suspect' },
        { id: 'gone-1', incarnation: 2, state: 'dead' },
        { id: 'node-004', incarnation: 3, state: 'alive' },
        { id: 'node-002', incarnation: 1, state: 'alive' },
      ],
    });
    // A suspect entry is a view, not an accusation: the member joins alive at that incarnation.
    expect(seen(fx).sort()).toEqual(['member-joined:fresh-1', 'member-joined:fresh-2']);
    expect(a.get('fresh-2')).toMatchObject({ state: 'alive', incarnation: 4 });
    expect(a.get('node-004')?.state).toBe('dead');
    expect(a.get('node-002')?.incarnation).toBe(1);
    expect(a.get('gone-1')).toBeUndefined();
    expect(a.digest()).toContainEqual({ id: 'gone-1', incarnation: 2, state: 'dead' });
  });

  it('refutes when a peer table says we are suspect, and teaches a joiner the pool', () => {
    const a = coreIn('node-000', ids(5));
    a.step({ type: 'tick', now: 0 });
    const fx = a.step({ type: 'sync', entries: [{ id: 'node-000', incarnation: 0, state: 'suspect' }], now: 1 });
    expect(tells(fx).map((t) => t.update)).toEqual([{ kind: 'alive', id: 'node-000', incarnation: 1 }]);
    expect(tells(fx)[0]!.to.length).toBeGreaterThan(0);
    const j = new SwimCore({ self: 'joiner', config: defaultSwimConfig(), rand: seededRandom(2), now: 0 });
    j.step({ type: 'sync', entries: a.digest(), now: 5 });
    expect(
      j
        .members()
        .map((m) => m.id)
        .sort(),
    ).toEqual([...ids(5), 'joiner'].sort());
    expect(j.neighbours().length).toBeGreaterThan(0);
  });

  it('asks a random neighbour to sync once per interval', () => {
    const a = coreIn('node-000', ids(10), { syncInterval: 1000 });
    const syncs = run(a, 0, 10000).filter((e) => e.type === 'sync');
    expect(syncs.length).toBeGreaterThanOrEqual(9);
    expect(syncs.length).toBeLessThanOrEqual(10);
    for (const s of syncs) expect(s.type === 'sync' && a.neighbours()).toContain(s.type === 'sync' && s.with);
  });
});

describe('hostile input', () => {
  it('ignores absurd incarnations, oversized ids and malformed messages', () => {
    const a = coreIn('node-000', ids(5));
    const bad: unknown[] = [
      { kind: 'alive', id: 'node-001', incarnation: Number.NaN },
      { kind: 'alive', id: 'node-001', incarnation: 1e300 },
      { kind: 'alive', id: 'node-001', incarnation: 1001 },
      { kind: 'alive', id: 'node-001', incarnation: -1 },
      { kind: 'alive', id: 'node-001', incarnation: 1.5 },
      { kind: 'alive', id: 'x'.repeat(129), incarnation: 0 },
      { kind: 'suspect', id: 'node-001', incarnation: 0, from: 'y'.repeat(200), evidence: 'timeout' },
      { kind: 'suspect', id: 'node-001', incarnation: 0, from: 'node-002', evidence: 'rumour' },
      { kind: 'dead', id: 'node-000', incarnation: 5000, from: 'node-002' },
      { kind: 'weird', id: 'node-001', incarnation: 0 },
      null,
    ];
    a.step({ type: 'tick', now: 0 });
    for (const u of bad) expect(a.step({ type: 'update', update: u as Update, now: 1 })).toEqual([]);
    expect(a.step({ type: 'probe', from: 'node-002', msg: { t: 'ping', seq: Number.NaN }, now: 2 })).toEqual([]);
    expect(a.step({ type: 'sync', entries: 'nope' as never, now: 3 })).toEqual([]);
    expect(a.get('node-001')).toMatchObject({ state: 'alive', incarnation: 0 });
    expect(a.incarnation).toBe(0);
    expect(seen(a.step(update({ kind: 'alive', id: 'node-001', incarnation: 1000 }, 4)))).toEqual([]);
    expect(a.get('node-001')?.incarnation).toBe(1000);
  });

  it('caps the table at maxMembers and the ping-reqs it serves at maxPending', () => {
    const a = coreIn('node-000', ids(5), { maxMembers: 10, maxPending: 4 });
    const entries = Array.from({ length: 50 }, (_, i) => ({ id: `h-${i}`, incarnation: 0, state: 'alive' as const }));
    a.step({ type: 'sync', entries, now: 1 });
    expect(a.members()).toHaveLength(10);
    expect(a.counts.dropped).toBe(45);
    const nacked = [];
    for (let i = 0; i < 10; i++) {
      const fx = a.step({ type: 'probe', from: 'node-002', msg: { t: 'ping-req', seq: i, target: 'h-1' }, now: 2 });
      nacked.push(...sent(fx).filter((e) => e.msg.t === 'nack'));
    }
    expect(nacked).toHaveLength(6);
  });
});
