import type { LeaderEvent } from '../agent/leader/election.ts';
import { LeaderDuty } from '../agent/leadership/duty.ts';
import { Leadership } from '../agent/leadership.ts';
import { LoadBook } from '../agent/load/book.ts';
import { createAgentMetrics } from '../agent/monitor/prom.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';

/**
 * LeaderDuty as the agent builds it, on node `self` (started at 0), over a settable membership
 * view (every member alive) and load book on a fake clock. `ack` files load reports naming a term
 * now, as the followers' acknowledgements arrive. Shared by test/leadership-duty.test.ts,
 * test/election-heal.test.ts, test/failover-acting.test.ts and test/leadership-tell-followers.test.ts.
 */
export function dutyFixture(o: {
  self: string;
  members: Heartbeat[];
  leaseTimeout: number;
  /** The election's claimDelay (ms; default 0). */
  claimDelay?: number;
  counted: (term: number) => number;
  onActing?: (term: number) => void;
  onFollow?: (leader: { peerId: string; term: number }) => void;
  announce?: () => void;
  tellFollowers?: (peers: string[]) => void;
  tellSuccessors?: (peers: string[]) => void;
  /** The follower promise's hooks (leadership/wait-out.ts); default: the leader always counts itself. */
  selfCounts?: () => boolean;
  ackWait?: number;
  /** The acting window (ms; default: leaseTimeout, as before it existed). */
  actWindow?: number;
}) {
  let now = 0;
  const members = new Map<string, Heartbeat>(o.members.map((r) => [r.peerId, r]));
  const load = new LoadBook(16);
  const events: LeaderEvent[] = [];
  const leadership = new Leadership({
    selfPeerId: () => o.self,
    startedAt: 0,
    settleAfter: 0,
    leaseTimeout: o.leaseTimeout,
    ...(o.claimDelay !== undefined ? { claimDelay: o.claimDelay } : {}),
  });
  const duty = new LeaderDuty({
    leadership,
    now: () => now,
    members: () =>
      [...members.values()].map((r) => ({
        record: r,
        liveness: { id: r.peerId, incarnation: 0, state: 'alive' as const, since: 0 },
      })),
    load,
    counted: () => (leadership.leads === null ? 0 : o.counted(leadership.leads)),
    leaseTimeout: o.leaseTimeout,
    barred: () => false,
    metrics: createAgentMetrics({ membersByState: () => ({ alive: 0, suspect: 0, dead: 0, left: 0 }) }),
    emit: (e) => events.push(e),
    announce: o.announce ?? (() => undefined),
    ...(o.onActing ? { onActing: o.onActing } : {}),
    ...(o.onFollow ? { onFollow: o.onFollow } : {}),
    ...(o.tellFollowers ? { tellFollowers: o.tellFollowers } : {}),
    ...(o.tellSuccessors ? { tellSuccessors: o.tellSuccessors } : {}),
    ...(o.selfCounts ? { selfCounts: o.selfCounts } : {}),
    ...(o.ackWait !== undefined ? { ackWait: o.ackWait } : {}),
    ...(o.actWindow !== undefined ? { actWindow: o.actWindow } : {}),
  });
  const ack = (peers: string[], term: number) => {
    for (const p of peers) load.report(p, { metrics: {}, at: now, term });
  };
  return { duty, leadership, members, ack, events, now: () => now, at: (t: number) => (now = t) };
}
