import { notNewer } from '../../shared/upgrade/version-order.ts';
import type { UpgradeEvent } from '../../shared/wire/cluster.ts';
import { current, LEADER_GATE_SLACK, MAX_HOLDERS, type MemberObservation } from './rollout.ts';

/**
 * Catch-up, pure: members that joined after a rollout completed, running their *install* (an EC2
 * or vsphere leader launches what the laptop installed: user data, `agentUrl`, image), are taken
 * to the artifact the pool runs, T, one at a time, each through the rollout's gate. Any time, not
 * only within the hour a rollout may be continued. Bounded: one member restarting at a time, none
 * while another member is down, a growing pause after a failure that says nothing of the artifact
 * (not reached, fetch failed), and the first failure that does (refused, rolled back, not back
 * within the gate) halts it, as it halts a rollout. Never touched: a member on another stored
 * artifact (someone's choice), one on a newer install, one under another gate, one that returned
 * for a `--rollback` since the rollout began. The I/O shell is catch-up-driver.ts.
 */

/** What the pool runs and how members are taken to it: the completed rollout's artifact, plan and gate. */
export interface CatchUpTarget {
  sha256: string;
  version: string;
  gateMs: number;
  /** When the rollout to it started (its plan): a `--rollback` after that undid it. */
  startedAt: number;
}

export interface CatchUpState {
  target: CatchUpTarget;
  /** The member told to restart into the target, and when. */
  current: { peerId: string; instanceId: string; at: number } | null;
  /** Failures in a row that did not halt; the next member is taken no earlier than `retryAt`. */
  failures: number;
  retryAt: number;
  /** Members taken since the catch-up last had nothing to do (one `upgrade-started` … `-complete`). */
  taken: string[] | null;
  halted?: { peerId: string; instanceId: string; reason: string; at: number };
}

/** What the leader makes of one member (GET /upgrade shows it per peer). */
export type CatchUpVerdict =
  | 'target'
  | 'lagging'
  | 'other-artifact'
  | 'newer-install'
  | 'under-gate'
  | 'rolled-back'
  | 'returned'
  | 'unknown';

export type CatchUpStep = { kind: 'wait' } | { kind: 'take'; peerId: string; instanceId: string; holders: string[] };

/** `upgrade-started` with why (shared/wire/cluster.ts's type gains `reason` in a proposal; the stream carries it now). */
type Started = Extract<UpgradeEvent, { type: 'upgrade-started' }> & { reason: string };

/** Pause after the first failure that does not halt (ms); doubled per failure in a row. */
export const CATCH_UP_BACKOFF = 5_000;
/** The longest pause between two tries (ms). */
export const CATCH_UP_BACKOFF_MAX = 300_000;
/** Why the catch-up events say what they say (`upgrade-started`'s reason). */
export const CATCH_UP_REASON = 'catch-up of launched members';

export function startCatchUp(target: CatchUpTarget): CatchUpState {
  return { target, current: null, failures: 0, retryAt: 0, taken: null };
}

export function verdictOf(o: MemberObservation, t: CatchUpTarget): CatchUpVerdict {
  const s = o.status;
  if (!s) return 'unknown';
  if (s.sha256 === t.sha256) return 'target';
  if (s.sha256 !== null) return 'other-artifact';
  if (s.last?.sha256 === t.sha256 && !s.last.ok) return 'rolled-back';
  if (s.returnedAt !== undefined && s.returnedAt >= t.startedAt) return 'returned';
  if (s.trial) return 'under-gate';
  return notNewer(o.version, t.version) ? 'lagging' : 'newer-install';
}

type Planned = { state: CatchUpState; step: CatchUpStep; events: UpgradeEvent[] };

/**
 * One tick: folds what the leader sees into the catch-up and says whom to take next, if anyone.
 * `seen`: the other members (their status, where known); `holders` of T are named as sources.
 */
export function planCatchUp(s: CatchUpState, seen: readonly MemberObservation[], self: string, now: number): Planned {
  const t = s.target;
  const base = { sha: t.sha256, version: t.version, at: now };
  const events: UpgradeEvent[] = [];
  const wait = (state: CatchUpState): Planned => ({ state, step: { kind: 'wait' }, events });
  if (s.halted) return wait(s);
  // A member that went back from T (this catch-up's, or any leader's before) or was rolled back
  // since: halted, as a rollout halts, for as long as that member is in the pool.
  const stop = seen.find((o) => ['rolled-back', 'returned'].includes(verdictOf(o, t)));
  if (stop) {
    const last = stop.status?.last;
    const reason =
      verdictOf(stop, t) === 'returned'
        ? 'returned for a --rollback after the rollout: not caught up'
        : `rolled back: ${last?.reason ?? 'not healthy'}`;
    return wait(halt(s, stop, reason, now, events));
  }
  let state = s;
  const cur = s.current;
  if (cur) {
    const o = seen.find((x) => x.peerId === cur.peerId);
    const back = o && verdictOf(o, t) === 'target' && o.version === t.version && o.alive && o.status?.ready;
    if (back && o.status?.trial !== t.sha256) {
      events.push(progress(base, cur, 'done'));
      state = { ...s, current: null, failures: 0 };
    } else if (now <= cur.at + t.gateMs + LEADER_GATE_SLACK) return wait(s);
    else if (o)
      return wait(
        halt(s, cur, `not back on ${t.version} and ready within ${t.gateMs + LEADER_GATE_SLACK} ms`, now, events),
      );
    // Gone from the pool (terminated meanwhile): nothing to protect, nothing to halt for.
    else state = failed(s, now);
  }
  if (state.current || now < state.retryAt) return wait(state);
  const lagging = seen.filter((o) => verdictOf(o, t) === 'lagging');
  if (lagging.length === 0) {
    if (state.taken) events.push({ type: 'upgrade-complete', ...base, members: state.taken.length });
    return wait(state.taken ? { ...state, taken: null } : state);
  }
  // Only a member that is ready on its install, and nobody while another member is down
  // (suspect, or left within a gate: perhaps restarting), as a rollout restarts them.
  const ready = lagging.filter((o) => o.alive && o.status?.ready);
  if (ready.length === 0 || current(t, seen, now).some((o) => !o.alive)) return wait(state);
  const next = [...ready].sort((a, b) => (a.peerId < b.peerId ? -1 : 1))[0] as MemberObservation;
  if (!state.taken) {
    const started: Started = {
      type: 'upgrade-started',
      ...base,
      members: lagging.length,
      resumed: false,
      reason: CATCH_UP_REASON,
    };
    events.push(started);
  }
  // Members on T serve it first, the leader last (at most MAX_HOLDERS, as a rollout names them).
  const holders = seen.filter((o) => verdictOf(o, t) === 'target').map((o) => o.peerId);
  return {
    state: { ...state, taken: state.taken ?? [] },
    step: {
      kind: 'take',
      peerId: next.peerId,
      instanceId: next.instanceId,
      holders: [...holders.slice(0, MAX_HOLDERS - 1), self],
    },
    events,
  };
}

/** The member staged and was told to restart: it is the one down now. */
export function taken(s: CatchUpState, who: { peerId: string; instanceId: string }, now: number) {
  const base = { sha: s.target.sha256, version: s.target.version, at: now };
  const events = [progress(base, who, 'staged'), progress(base, who, 'restarting')];
  const state = { ...s, current: { ...who, at: now }, taken: [...(s.taken ?? []), who.peerId] };
  return { state, events };
}

/** Staging or the restart order failed: `halts` when the answer judged the artifact or the key. */
export function refused(
  s: CatchUpState,
  who: { peerId: string; instanceId: string },
  reason: string,
  halts: boolean,
  now: number,
) {
  const events: UpgradeEvent[] = [];
  return { state: halts ? halt(s, who, reason, now, events) : failed(s, now), events };
}

/** A failure that says nothing of the artifact: the next try waits, longer after each in a row. */
function failed(s: CatchUpState, now: number): CatchUpState {
  const failures = s.failures + 1;
  const pause = Math.min(CATCH_UP_BACKOFF_MAX, CATCH_UP_BACKOFF * 2 ** (failures - 1));
  return { ...s, current: null, failures, retryAt: now + pause };
}

function halt(
  s: CatchUpState,
  who: { peerId: string; instanceId: string },
  reason: string,
  now: number,
  events: UpgradeEvent[],
): CatchUpState {
  const base = { sha: s.target.sha256, version: s.target.version, at: now };
  events.push(progress(base, who, 'failed', reason));
  events.push({ type: 'upgrade-halted', ...base, peerId: who.peerId, instanceId: who.instanceId, reason });
  return { ...s, current: null, halted: { peerId: who.peerId, instanceId: who.instanceId, reason, at: now } };
}

function progress(
  base: { sha: string; version: string; at: number },
  who: { peerId: string; instanceId: string },
  phase: 'staged' | 'restarting' | 'done' | 'failed',
  error?: string,
): UpgradeEvent {
  return {
    type: 'upgrade-progress',
    ...base,
    peerId: who.peerId,
    instanceId: who.instanceId,
    phase,
    ...(error ? { error } : {}),
  };
}
