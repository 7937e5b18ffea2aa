import { describe, expect, it } from 'vitest';
import { LoadExchange } from '../agent/load/exchange.ts';
import { SendError } from '../agent/transport/channel.ts';
import type { ProbeFrame } from '../shared/wire/probe.ts';

/**
 * A follower's load report (its lease acknowledgement) that fails is sent again once at once while
 * it still follows the same leader in the same term (issue 13: a report lost on a dial that
 * outlived its timeout cost the new leader's lease one or two loadIntervals). Pure: the channel is
 * a function the test answers.
 */

const LEADER = 'leader-peer';

function exchange(answers: Array<'ok' | 'timeout' | 'refused'>, onSend: () => void = () => undefined) {
  const sent: Array<{ to: string; frame: ProbeFrame }> = [];
  let leader: { peerId: string; term: number } | null = { peerId: LEADER, term: 7 };
  const ex = new LoadExchange({
    self: () => 'follower-peer',
    now: () => 1_000,
    loadInterval: 2_000,
    leader: () => leader,
    metrics: () => ({ load: 0.5 }),
    send: async (to, frame) => {
      sent.push({ to, frame });
      onSend();
      const a = answers.shift() ?? 'ok';
      if (a !== 'ok') throw new SendError(to, a, new Error(a));
    },
    memberIds: () => [LEADER],
    maxMembers: 10,
  });
  return {
    ex,
    sent,
    follow: (l: typeof leader) => {
      leader = l;
    },
  };
}

describe('LoadExchange: a failed report to the leader', () => {
  it('is sent again once at once, naming the same term', async () => {
    const f = exchange(['timeout', 'ok']);
    await f.ex.tick();
    expect(f.sent.map((s) => [s.to, s.frame.t, (s.frame as { term: number }).term])).toEqual([
      [LEADER, 'load', 7],
      [LEADER, 'load', 7],
    ]);
  });

  it('only once: a second failure waits for the next tick', async () => {
    const f = exchange(['timeout', 'timeout', 'ok']);
    await f.ex.tick();
    expect(f.sent).toHaveLength(2);
    await f.ex.tick();
    expect(f.sent).toHaveLength(3);
  });

  it('not when the leader refused (nothing listens: it died)', async () => {
    const f = exchange(['refused']);
    await f.ex.tick();
    expect(f.sent).toHaveLength(1);
  });

  it('not once this node follows another leader or term', async () => {
    let calls = 0;
    const f = exchange(['timeout'], () => {
      if (++calls === 1) f.follow({ peerId: 'other-leader', term: 8 });
    });
    await f.ex.tick();
    expect(f.sent.map((s) => s.to)).toEqual([LEADER]);
  });

  it('a report that goes through is sent once', async () => {
    const f = exchange(['ok']);
    await f.ex.tick();
    expect(f.sent).toHaveLength(1);
  });
});
