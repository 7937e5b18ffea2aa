import type { LeaderEvent } from '../../shared/wire/cluster.ts';

/**
 * Transient leader election: a pure core with no I/O. Every agent runs it on its own membership
 * view and they agree without a central server:
 *
 * - While an alive member claims leadership, it stays leader — a joining node never takes over
 *   (stability), whatever its start time.
 * - Claims are ordered by term, then by age (older start time, then smaller peer id). A member
 *   that sees a better claim than its own steps down at once.
 * - With no live claim (the leader died, left, or handed over), the oldest alive member claims
 *   a term greater than any it has seen. Others wait for that claim to arrive in gossip.
 * - A fresh agent does not claim during `settleAfter` from its start: it first listens, so it
 *   does not grab leadership of a pool it has not heard from yet.
 *
 * Two leaders can coexist briefly (a partition, a race at start); terms fence their actions:
 * scaler client tokens include the term, and stale-term actions are refused.
 */

export interface Candidate {
  peerId: string;
  /** Epoch ms the member's agent started. */
  startedAt: number;
  /** Term this member claims to lead, if any. */
  leads?: number;
  /** Highest term this member has seen. */
  term: number;
  /** The member is retiring (being drained): it will not lead. */
  retiring?: boolean;
}

export interface LeaderInfo {
  peerId: string;
  term: number;
  /** When this node first accepted this leader at this term (epoch ms). */
  since: number;
}

export interface ElectionState {
  /** Highest term seen anywhere. */
  term: number;
  /** The term this node leads, if it is the leader. */
  leads: number | null;
  leader: LeaderInfo | null;
  /** When this node's agent started; no claim before startedAt + settleAfter. */
  startedAt: number;
}

export type { LeaderEvent };

export interface ElectionInput {
  self: { peerId: string };
  /** Alive members other than self (suspect/dead/left members must not be passed). */
  alive: readonly Candidate[];
  /** Highest term seen in any message, including from non-alive members. */
  seenTerm: number;
  now: number;
  settleAfter: number;
  /** Set when this node must not lead (it is retiring). */
  retiring?: boolean;
}

export function initialElection(startedAt: number): ElectionState {
  return { term: 0, leads: null, leader: null, startedAt };
}

/** Orders claims: higher term first, then older start, then smaller peer id. */
function better(a: Candidate & { leads: number }, b: Candidate & { leads: number }): boolean {
  if (a.leads !== b.leads) return a.leads > b.leads;
  if (a.startedAt !== b.startedAt) return a.startedAt < b.startedAt;
  return a.peerId < b.peerId;
}

function older(a: Candidate, b: Candidate): boolean {
  return a.startedAt !== b.startedAt ? a.startedAt < b.startedAt : a.peerId < b.peerId;
}

export function stepElection(
  state: ElectionState,
  input: ElectionInput,
): { state: ElectionState; events: LeaderEvent[] } {
  const { self, alive, now } = input;
  const events: LeaderEvent[] = [];
  const me: Candidate = {
    peerId: self.peerId,
    startedAt: state.startedAt,
    term: state.term,
    ...(state.leads !== null ? { leads: state.leads } : {}),
  };
  let term = Math.max(state.term, input.seenTerm, ...alive.map((c) => Math.max(c.term, c.leads ?? 0)));
  let leads = state.leads;

  // The best live claim, ours included.
  let best: (Candidate & { leads: number }) | undefined;
  for (const c of [me, ...alive]) {
    if (c.leads === undefined) continue;
    const claim = c as Candidate & { leads: number };
    if (!best || better(claim, best)) best = claim;
  }

  if (leads !== null && (input.retiring || (best && best.peerId !== self.peerId))) {
    const reason = input.retiring ? 'retiring' : `better claim by ${best?.peerId} at term ${best?.leads}`;
    events.push({ type: 'leader-stepped-down', peerId: self.peerId, term: leads, at: now, reason });
    leads = null;
    if (best?.peerId === self.peerId) best = undefined;
  }

  // We lead but a higher term exists without a live claim (e.g. a leader of a healed partition
  // died): re-assert above it, or our own actions would be fenced as stale forever.
  if (leads !== null && best?.peerId === self.peerId && term > leads) {
    term += 1;
    leads = term;
    best = { ...me, leads: term };
  }

  if (!best) {
    const eligible = [...(input.retiring ? [] : [me]), ...alive.filter((c) => !c.retiring)];
    const oldest = eligible.reduce<Candidate | undefined>((o, c) => (!o || older(c, o) ? c : o), undefined);
    const settled = now - state.startedAt >= input.settleAfter;
    if (oldest?.peerId === self.peerId && settled) {
      term += 1;
      leads = term;
      best = { ...me, leads: term };
    }
  }

  let leader: LeaderInfo | null = null;
  if (best) {
    const same = state.leader && state.leader.peerId === best.peerId && state.leader.term === best.leads;
    leader = same && state.leader ? state.leader : { peerId: best.peerId, term: best.leads, since: now };
    if (!same) {
      events.push({
        type: 'leader-elected',
        peerId: best.peerId,
        term: best.leads,
        at: now,
        self: best.peerId === self.peerId,
      });
    }
  } else if (state.leader) {
    events.push({ type: 'leader-lost', peerId: state.leader.peerId, term: state.leader.term, at: now });
  }

  return { state: { term, leads, leader, startedAt: state.startedAt }, events };
}

/** Whether an action tagged with `term` may still be carried out by this node. */
export function isCurrentTerm(state: ElectionState, term: number): boolean {
  return state.leads === term && state.term === term;
}
