import { describe, expect, it } from 'vitest';
import { coreIn, ids, run, seen, sent } from './helpers/swim.ts';

describe('SWIM core: another side declared a member dead (a healed partition)', () => {
  it('probes it instead of believing the table, and keeps it alive when it answers', () => {
    const members = ids(12);
    const me = members[0] as string;
    const core = coreIn(me, members);
    // Pick a member that is not one of our ring subjects, so only a verification would probe it.
    const subjects = new Set(core.probed());
    const other = members.find((id) => id !== me && !subjects.has(id)) as string;
    const fx = core.step({ type: 'sync', entries: [{ id: other, incarnation: 0, state: 'dead' }], now: 1 });
    expect(core.get(other)?.state).toBe('alive');
    expect(seen(fx)).toEqual([]);
    // Tick until it is pinged, and answer at once (every other probe goes unanswered here).
    let acked = false;
    for (let t = 100; t < 5000 && !acked; t += 100) {
      for (const e of sent(core.step({ type: 'tick', now: t }))) {
        if (e.to !== other || e.msg.t !== 'ping') continue;
        core.step({ type: 'probe', from: other, msg: { t: 'ack', seq: e.msg.seq }, now: t + 10 });
        acked = true;
      }
    }
    expect(acked, 'the member the table called dead is probed').toBe(true);
    run(core, 5000, 6000);
    expect(core.get(other)?.state).toBe('alive');
  });

  it('suspects it itself when the probe finds nobody, and declares it dead in the end', () => {
    const members = ids(12);
    const me = members[0] as string;
    const core = coreIn(me, members);
    const subjects = new Set(core.probed());
    const other = members.find((id) => id !== me && !subjects.has(id)) as string;
    core.step({ type: 'sync', entries: [{ id: other, incarnation: 0, state: 'dead' }], now: 1 });
    const events = seen(run(core, 100, 30_000));
    expect(events).toContain(`member-suspect:${other}`);
    expect(events).toContain(`member-dead:${other}`);
  });

  it('applies a death at a newer incarnation than the one it holds', () => {
    const members = ids(6);
    const core = coreIn(members[0] as string, members);
    const fx = core.step({
      type: 'sync',
      entries: [{ id: members[3] as string, incarnation: 2, state: 'dead' }],
      now: 1,
    });
    expect(core.get(members[3] as string)?.state).toBe('dead');
    expect(seen(fx)).toContain(`member-dead:${members[3]}`);
  });
});
