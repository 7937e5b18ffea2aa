import { describe, expect, it } from 'vitest';
import { MembershipView } from '../agent/membership/view.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';

const opts = { suspectAfter: 3000, deadAfter: 5000, reapAfter: 60_000, tickInterval: 250, stallThreshold: 200 };

function hb(peerId: string, seq: number): Heartbeat {
  return {
    v: 1,
    type: 'heartbeat',
    peerId,
    instanceId: `i-${peerId}`,
    cloud: 'web',
    addrs: [],
    monitor: '',
    startedAt: 0,
    seq,
    version: '0.1.0',
    metrics: { load: 0.1 },
  };
}

/** Ticks every tickInterval from `from` to `to` (inclusive), collecting event types. */
function run(view: MembershipView, from: number, to: number): string[] {
  const types: string[] = [];
  for (let t = from; t <= to; t += opts.tickInterval) types.push(...view.tick(t).map((e) => e.type));
  return types;
}

describe('membership state machine', () => {
  it('joins on the first heartbeat and stays alive while heartbeats flow', () => {
    const view = new MembershipView(opts);
    expect(view.heartbeat(hb('a', 1), 0).map((e) => e.type)).toEqual(['member-joined']);
    for (let t = 1000; t <= 10_000; t += 1000) {
      expect(view.heartbeat(hb('a', t), t)).toEqual([]);
      expect(view.tick(t)).toEqual([]);
    }
    expect(view.get('a')?.state).toBe('alive');
  });

  it('goes alive → suspect → dead → removed on the injected clock', () => {
    const view = new MembershipView(opts);
    view.heartbeat(hb('a', 1), 0);
    expect(run(view, 0, 2750)).toEqual([]);
    expect(run(view, 3000, 3000)).toEqual(['member-suspect']);
    expect(view.get('a')?.state).toBe('suspect');
    expect(run(view, 3250, 4750)).toEqual([]);
    expect(run(view, 5000, 5000)).toEqual(['member-dead']);
    expect(run(view, 5250, 64_750)).toEqual([]);
    expect(run(view, 65_000, 65_000)).toEqual(['member-removed']);
    expect(view.get('a')).toBeUndefined();
  });

  it('recovers a suspect or dead member that speaks again', () => {
    const view = new MembershipView(opts);
    view.heartbeat(hb('a', 1), 0);
    run(view, 0, 5000);
    expect(view.get('a')?.state).toBe('dead');
    expect(view.heartbeat(hb('a', 2), 5100).map((e) => e.type)).toEqual(['member-recovered']);
    expect(view.get('a')?.state).toBe('alive');
  });

  it('marks a leaving member left at once, and a later incarnation joins again', () => {
    const view = new MembershipView(opts);
    view.heartbeat(hb('a', 10), 0);
    expect(view.leave({ v: 1, type: 'leave', peerId: 'a', seq: 11 }, 100).map((e) => e.type)).toEqual(['member-left']);
    expect(view.get('a')?.state).toBe('left');
    // A left member is not suspected or declared dead.
    expect(run(view, 250, 10_000)).toEqual([]);
    expect(view.heartbeat(hb('a', 5000), 10_100).map((e) => e.type)).toEqual(['member-joined']);
  });

  it('ignores replayed and out-of-order sequence numbers, also after removal', () => {
    const view = new MembershipView(opts);
    view.heartbeat(hb('a', 10), 0);
    expect(view.checkSeq('a', 10)).toBe('stale');
    expect(view.checkSeq('a', 9)).toBe('stale');
    expect(view.checkSeq('a', 11)).toBe('fresh');
    expect(view.heartbeat(hb('a', 9), 100)).toEqual([]);
    expect(view.leave({ v: 1, type: 'leave', peerId: 'a', seq: 5 }, 100)).toEqual([]);
    expect(view.get('a')?.state).toBe('alive');
    run(view, 0, 70_000);
    expect(view.get('a')).toBeUndefined();
    // A replay of an old heartbeat must not resurrect a removed member.
    expect(view.heartbeat(hb('a', 10), 70_100)).toEqual([]);
    expect(view.size).toBe(0);
  });

  it('does not hold a local stall against peers', () => {
    const view = new MembershipView(opts);
    view.heartbeat(hb('a', 1), 0);
    view.heartbeat(hb('b', 1), 0);
    view.tick(0);
    view.tick(250);
    // Our event loop was blocked for 4 s: the next tick comes at 4250 instead of 500.
    expect(view.tick(4250)).toEqual([]);
    // 3750 ms of stall, credited up to suspectAfter (3000 ms) per minute.
    expect(view.stalledMs).toBe(3000);
    // Queued heartbeats are processed right after the stall.
    view.heartbeat(hb('a', 2), 4260);
    view.heartbeat(hb('b', 2), 4260);
    expect(run(view, 4500, 6000)).toEqual([]);
    expect(view.countByState()).toEqual({ alive: 2, suspect: 0, dead: 0, left: 0 });
  });

  it('caps stall credit per minute, so a starved host still detects failures', () => {
    const view = new MembershipView(opts);
    view.heartbeat(hb('a', 1), 0);
    let t = 0;
    view.tick(t);
    const types: string[] = [];
    // Stall 1 s every tick: without a cap 'a' would never be suspected.
    for (let i = 0; i < 10; i++) {
      t += 1250;
      types.push(...view.tick(t).map((e) => e.type));
    }
    expect(view.stalledMs).toBe(3000);
    expect(types).toEqual(['member-suspect', 'member-dead']);
  });

  it('still detects a peer that is really gone after a stall', () => {
    const view = new MembershipView(opts);
    view.heartbeat(hb('a', 1), 0);
    view.tick(0);
    view.tick(2250); // 2 s stall credited
    const types = run(view, 2500, 8000);
    expect(types).toEqual(['member-suspect', 'member-dead']);
  });

  it('counts members by state and lists them with lastSeenMs', () => {
    const view = new MembershipView(opts);
    view.heartbeat(hb('a', 1), 0);
    view.heartbeat(hb('b', 1), 0);
    view.heartbeat(hb('b', 2), 2000);
    run(view, 0, 3500);
    expect(view.countByState()).toEqual({ alive: 1, suspect: 1, dead: 0, left: 0 });
    const b = view.members(3500).find((m) => m.peerId === 'b');
    expect(b).toMatchObject({ state: 'alive', lastSeenMs: 1500, metrics: { load: 0.1 }, instanceId: 'i-b' });
  });

  it('refuses inconsistent timeouts', () => {
    expect(() => new MembershipView({ ...opts, suspectAfter: 5000, deadAfter: 5000 })).toThrow(/suspectAfter/);
  });
});
