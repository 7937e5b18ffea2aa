import { describe, expect, it } from 'vitest';
import type { SwimCore } from '../agent/membership/swim/core.ts';
import type { Effect } from '../agent/membership/swim/types.ts';
import { coreIn, ids, seen, sent, tells, update } from './helpers/swim.ts';

/**
 * Issue 15, the accuser rule: a death (or suspicion) of X whose accuser we hold dead or left — the
 * other side of a healed partition, whose verdicts were made during the cut — is that side's view,
 * even when we have no direct evidence of X (it is not our ring neighbour): held back, X is probed
 * and told it is accused, and only our own failed check applies it (test/swim-heal-partition.test.ts
 * shows the heal). The safety side: a merely suspect or unknown accuser is believed as before, a
 * refused or silent X is still declared, and a synced table of the other side is doubted too.
 */

function pool() {
  const members = ids(8);
  const [me, x, accuser, witness] = members as [string, string, string, string];
  const core = coreIn(me, members);
  // The accuser is on the other side: our side declared it dead (first-hand for `witness`).
  core.step(update({ kind: 'dead', id: accuser, incarnation: 0, from: witness }, 50));
  return { core, me, x, accuser, witness };
}

/** Ticks every 100 ms over [from, to), acking at once every ping we send to `alive`. */
function runAcking(core: SwimCore, alive: string, from: number, to: number): Effect[] {
  const out: Effect[] = [];
  for (let t = from; t < to; t += 100) {
    const fx = core.step({ type: 'tick', now: t });
    out.push(...fx);
    for (const p of sent(fx))
      if (p.to === alive && p.msg.t === 'ping')
        out.push(...core.step({ type: 'probe', from: alive, msg: { t: 'ack', seq: p.msg.seq }, now: t + 5 }));
  }
  return out;
}

describe('SWIM core: an accusation whose accuser we hold dead (issue 15)', () => {
  it('is not applied: X stays alive, is pinged at once and told it is accused; its answer drops the claim', () => {
    const { core, x, accuser } = pool();
    expect(core.get(accuser)?.state).toBe('dead');
    const fx = core.step(update({ kind: 'dead', id: x, incarnation: 0, from: accuser }, 200));
    expect(core.get(x)?.state).toBe('alive');
    expect(seen(fx)).toEqual([]);
    expect(sent(fx).some((e) => e.to === x && e.msg.t === 'ping')).toBe(true);
    expect(tells(fx).map((t) => [t.to, t.update.kind, t.update.id])).toContainEqual([[x], 'suspect', x]);
    // X answers our check, then keeps answering: never dead or suspect by us, well past suspicionMinTimeout.
    const later = runAcking(core, x, 300, 8_000);
    expect(seen(later).filter((e) => e.endsWith(`:${x}`))).toEqual([]);
    expect(core.get(x)?.state).toBe('alive');
  });

  it('ignores a suspicion by that accuser', () => {
    const { core, x, accuser } = pool();
    const fx = core.step(update({ kind: 'suspect', id: x, incarnation: 0, from: accuser, evidence: 'refused' }, 200));
    expect(core.get(x)?.state).toBe('alive');
    expect(seen(fx)).toEqual([]);
  });

  it('is applied at once when the check is refused (X is gone)', () => {
    const { core, x, accuser } = pool();
    core.step(update({ kind: 'dead', id: x, incarnation: 0, from: accuser }, 200));
    const fx = core.step({ type: 'unreachable', id: x, evidence: 'refused', now: 250 });
    expect(core.get(x)?.state).toBe('dead');
    expect(seen(fx)).toContain(`member-dead:${x}`);
  });

  it('is applied when X stays silent to our own probe (a hung X is not kept alive)', () => {
    const { core, x, accuser } = pool();
    core.step(update({ kind: 'dead', id: x, incarnation: 0, from: accuser }, 200));
    const events: string[] = [];
    for (let t = 300; t < 3_300 && core.get(x)?.state !== 'dead'; t += 100)
      events.push(...seen(core.step({ type: 'tick', now: t })));
    expect(core.get(x)?.state).toBe('dead');
    expect(events).toContain(`member-dead:${x}`);
  });

  it('holds it while the accuser is just back (its refutation beat its queued deaths), not later', () => {
    const { core, x, accuser } = pool();
    core.step(update({ kind: 'alive', id: accuser, incarnation: 1 }, 100));
    expect(core.get(accuser)?.state).toBe('alive');
    const fx = core.step(update({ kind: 'dead', id: x, incarnation: 0, from: accuser }, 200));
    expect(core.get(x)?.state).toBe('alive');
    expect(seen(fx)).toEqual([]);
    // X answers; suspicionMinTimeout (3 s) after the return (and X's answer), the accuser's word counts again.
    core.step({ type: 'probe', from: x, msg: { t: 'ack', seq: 0 }, now: 300 });
    const late = core.step(update({ kind: 'dead', id: x, incarnation: 0, from: accuser }, 3_400));
    expect(seen(late)).toContain(`member-dead:${x}`);
  });

  it('does not stall detection when the accuser is merely suspect, or unknown to us', () => {
    const members = ids(8);
    const [me, x, suspect] = members as [string, string, string];
    const core = coreIn(me, members);
    core.step(update({ kind: 'suspect', id: suspect, incarnation: 0, from: members[4]!, evidence: 'timeout' }, 50));
    expect(core.get(suspect)?.state).toBe('suspect');
    const fx = core.step(update({ kind: 'dead', id: x, incarnation: 0, from: suspect }, 200));
    expect(seen(fx)).toContain(`member-dead:${x}`);
    const y = members[5]!;
    const fy = core.step(update({ kind: 'dead', id: y, incarnation: 0, from: 'node-joiner-we-never-heard-of' }, 300));
    expect(seen(fy)).toContain(`member-dead:${y}`);
  });

  it("doubts that side's synced table even at a newer incarnation; a table from our side is believed", () => {
    const { core, x, accuser, witness } = pool();
    const entries = [{ id: x, incarnation: 1, state: 'dead' as const }];
    const fx = core.step({ type: 'sync', entries, from: accuser, now: 200 });
    expect(core.get(x)?.state).toBe('alive');
    expect(tells(fx).map((t) => [t.to, t.update.kind, t.update.incarnation])).toContainEqual([[x], 'suspect', 1]);
    const ours = core.step({ type: 'sync', entries, from: witness, now: 300 });
    expect(seen(ours)).toContain(`member-dead:${x}`);
  });
});
