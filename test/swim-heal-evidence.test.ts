import { describe, expect, it } from 'vitest';
import type { SwimCore } from '../agent/membership/swim/core.ts';
import { coreIn, ids, run, seen, sent, tells, told, update } from './helpers/swim.ts';

/**
 * Issue 15: a second-hand death of a member this node heard from itself within
 * `suspicionMinTimeout` is held back (test/swim-heal-partition.test.ts shows why). The safety side:
 * only the member's own frames are evidence, a held death is applied as soon as our own check
 * fails or the evidence goes stale, a refutation drops it, and a node still refutes its own.
 */

function pool() {
  const members = ids(8);
  const [me, other, accuser] = members as [string, string, string];
  const core = coreIn(me, members);
  const dead = (now: number) => update({ kind: 'dead', id: other, incarnation: 0, from: accuser }, now);
  return { core, me, other, accuser, dead };
}

describe('SWIM core: a death told by others about a member we just heard from', () => {
  it('is held back: the member stays alive, is pinged at once and told it is accused', () => {
    const { core, other, dead } = pool();
    core.step({ type: 'probe', from: other, msg: { t: 'ping', seq: 9 }, now: 100 });
    const fx = core.step(dead(200));
    expect(core.get(other)?.state).toBe('alive');
    expect(seen(fx)).toEqual([]);
    expect(sent(fx).some((e) => e.to === other && e.msg.t === 'ping')).toBe(true);
    expect(tells(fx).map((t) => [t.to, t.update.kind, t.update.id])).toContainEqual([[other], 'suspect', other]);
  });

  it('is applied at once when the check ping is refused (the process is gone)', () => {
    const { core, other, dead } = pool();
    core.step({ type: 'probe', from: other, msg: { t: 'ping', seq: 9 }, now: 100 });
    core.step(dead(200));
    const fx = core.step({ type: 'unreachable', id: other, evidence: 'refused', now: 250 });
    expect(core.get(other)?.state).toBe('dead');
    expect(seen(fx)).toContain(`member-dead:${other}`);
  });

  it('is applied at once when a dial of ours was refused since the member last spoke (a killed neighbour)', () => {
    // A member we do not probe (not ours to suspect on a refused dial): one of those that probe us.
    const notOurs = (core: SwimCore, accuser: string) => {
      core.step({ type: 'tick', now: 0 });
      return core.neighbours().find((id) => !core.probed().includes(id) && id !== accuser) as string;
    };
    const { core, accuser } = pool();
    const x = notOurs(core, accuser);
    const dead = (now: number) => update({ kind: 'dead', id: x, incarnation: 0, from: accuser }, now);
    core.step({ type: 'probe', from: x, msg: { t: 'ping', seq: 9 }, now: 100 });
    // Its connection closed and the shell's ping was refused: no suspicion of ours, but no vouching either.
    core.step({ type: 'unreachable', id: x, evidence: 'refused', now: 150 });
    expect(core.get(x)?.state).toBe('alive');
    expect(seen(core.step(dead(200)))).toContain(`member-dead:${x}`);
    // A frame from it after the refusal vouches for it again: that death is held back.
    const b = pool();
    const y = notOurs(b.core, b.accuser);
    b.core.step({ type: 'unreachable', id: y, evidence: 'refused', now: 100 });
    b.core.step({ type: 'probe', from: y, msg: { t: 'ping', seq: 9 }, now: 150 });
    b.core.step(update({ kind: 'dead', id: y, incarnation: 0, from: b.accuser }, 200));
    expect(b.core.get(y)?.state).toBe('alive');
  });

  it('is applied once the member is silent for suspicionMinTimeout (a hung process)', () => {
    const { core, other, dead } = pool();
    core.step({ type: 'probe', from: other, msg: { t: 'ping', seq: 9 }, now: 100 });
    core.step(dead(200));
    const events = seen(run(core, 300, 3_300));
    expect(events).toContain(`member-dead:${other}`);
    expect(core.get(other)?.state).toBe('dead');
  });

  it('is dropped when the member refutes with a newer incarnation', () => {
    const { core, other, dead } = pool();
    core.step({ type: 'probe', from: other, msg: { t: 'ping', seq: 9 }, now: 100 });
    core.step(dead(200));
    core.step(update({ kind: 'alive', id: other, incarnation: 1 }, 300));
    // It keeps answering: no death of ours, and the held one is gone.
    for (let t = 400; t < 8_000; t += 100) {
      for (const e of sent(core.step({ type: 'tick', now: t }))) {
        if (e.to === other && e.msg.t === 'ping') {
          core.step({ type: 'probe', from: other, msg: { t: 'ack', seq: e.msg.seq }, now: t + 5 });
        }
      }
      if (t % 1000 === 0) core.step({ type: 'probe', from: other, msg: { t: 'ping', seq: t }, now: t + 1 });
    }
    expect(core.get(other)).toMatchObject({ state: 'alive', incarnation: 1 });
  });

  it('is applied at once without direct evidence: another member vouching is not evidence', () => {
    const { core, other, accuser, dead } = pool();
    // A frame from someone else (here the accuser itself, or a helper relaying an ack) says nothing of `other`.
    core.step({ type: 'probe', from: accuser, msg: { t: 'ack', seq: 1 }, now: 100 });
    const fx = core.step(dead(200));
    expect(core.get(other)?.state).toBe('dead');
    expect(seen(fx)).toContain(`member-dead:${other}`);
  });

  it('is applied at once when the evidence is older than suspicionMinTimeout', () => {
    const { core, other, dead } = pool();
    core.step({ type: 'probe', from: other, msg: { t: 'ping', seq: 9 }, now: 100 });
    const fx = core.step(dead(3_200));
    expect(core.get(other)?.state).toBe('dead');
    expect(seen(fx)).toContain(`member-dead:${other}`);
  });

  it('does not hold back a death about the node itself: it refutes to the pool', () => {
    const { core, me, accuser } = pool();
    core.step({ type: 'probe', from: accuser, msg: { t: 'ping', seq: 9 }, now: 100 });
    const fx = core.step(update({ kind: 'dead', id: me, incarnation: 0, from: accuser }, 200));
    expect(told(fx)).toContainEqual({ kind: 'alive', id: me, incarnation: 1 });
    expect(core.incarnation).toBe(1);
  });
});
