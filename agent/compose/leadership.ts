import { performance } from 'node:perf_hooks';
import { LeaderDuty, type LeaderDutyOptions } from '../leadership/duty.ts';
import { actWindow, leaseTimeout } from '../leadership/lease.ts';
import { StepClock } from '../leadership/step-clock.ts';
import { WaitOut } from '../leadership/wait-out.ts';
import { Leadership } from '../leadership.ts';
import { RELAY_CLOCK_SKEW } from '../load/relay-up.ts';
import type { Wiring } from './wiring.ts';

/** The election's state on this node, timed from the agent's tunables. */
export function buildLeadership(i: Pick<Wiring, 'config' | 'peerId' | 'startedAt' | 'log'>): Leadership {
  const t = i.config.tunables;
  return new Leadership({
    selfPeerId: () => i.peerId,
    startedAt: i.startedAt,
    settleAfter: t.suspectAfter,
    // One election tick: a claim waits for the other members' claims of this step, not for a
    // probe period (1 s of every failover, issue 13). A second claimant costs a term, never safety.
    claimDelay: Math.floor(t.heartbeatInterval / 4),
    leaseTimeout: leaseTimeout(t.loadInterval),
    // A seeded agent claims nothing before its first join (leader/seeds.ts): one term-1 leader per bootstrap.
    seeds: i.config.bootstrap,
    onRefused: (r) => i.log.warn('term-refused', { from: r.peerId, term: r.term }),
  });
}

/**
 * The follower's promise (leadership/wait-out.ts), shared by the load reports (what each names)
 * and the duty (when the leader counts itself): the acting window + RELAY_CLOCK_SKEW, on the
 * monotonic clock (a wall clock stepped forward would cut the wait short).
 */
export function buildWaitOut(i: Pick<Wiring, 'config'> & { restarted?: boolean }): WaitOut {
  const clock = () => performance.now();
  return new WaitOut({
    clock,
    waitMs: actWindow(i.config.tunables.loadInterval) + RELAY_CLOCK_SKEW,
    // A restart forgets whom the previous run acknowledged: wait from the start as if it were another leader.
    ...(i.restarted ? { since: clock() } : {}),
  });
}

export interface DutyInput
  extends Pick<
      LeaderDutyOptions,
      | 'leadership'
      | 'now'
      | 'members'
      | 'load'
      | 'counted'
      | 'barred'
      | 'onActing'
      | 'onFollow'
      | 'tellFollowers'
      | 'tellSuccessors'
    >,
    Pick<Wiring, 'config' | 'peerId' | 'telemetry' | 'events'> {
  /** Re-announces this node's record (its leadership claim is part of it). */
  announce: () => void;
  waitOut: WaitOut;
}

/** The leader's duty: election rounds, the acting term and the quorum lease. */
export function buildDuty(i: DutyInput): LeaderDuty {
  return new LeaderDuty({
    leadership: i.leadership,
    now: i.now,
    members: i.members,
    load: i.load,
    counted: i.counted,
    leaseTimeout: leaseTimeout(i.config.tunables.loadInterval),
    actWindow: actWindow(i.config.tunables.loadInterval),
    barred: i.barred,
    selfCounts: () => i.waitOut.left(i.peerId) === 0,
    ackWait: i.waitOut.waitMs,
    metrics: i.telemetry.metrics,
    emit: (e) => i.events.emit(e),
    announce: i.announce,
    ...(i.onActing ? { onActing: i.onActing } : {}),
    ...(i.onFollow ? { onFollow: i.onFollow } : {}),
    ...(i.tellFollowers ? { tellFollowers: i.tellFollowers } : {}),
    ...(i.tellSuccessors ? { tellSuccessors: i.tellSuccessors } : {}),
  });
}

/**
 * When the duty steps: at heartbeatInterval / 4 (the old ticker's beat, at most 250 ms) while
 * this node leads or follows nobody; a follower of a live leader when poked (a change of its
 * view, and the agent's 1 s beat as a backstop: compose/components.ts), at most one round per
 * half beat (step-clock.ts).
 */
export function buildStepClock(
  i: Pick<Wiring, 'config' | 'now' | 'leadership'>,
  step: () => void,
  onError: (name: string, err: Error) => void,
): StepClock {
  const fastMs = Math.min(250, Math.max(50, Math.floor(i.config.tunables.heartbeatInterval / 4)));
  return new StepClock({
    step,
    urgent: () => i.leadership.leads !== null || i.leadership.leader === null,
    now: i.now,
    fastMs,
    minGapMs: Math.floor(fastMs / 2),
    onError: (err) => onError('election', err),
  });
}
