import type { LeaderEvent } from '../../shared/wire/cluster.ts';
import { bestOf, better, bounded, type Candidate, type Claim, older, type RefusedTerm } from './claims.ts';
import { acceptsTerm, MAX_TERM, MAX_TERM_STEP, termLimit } from './terms.ts';

/**
 * Transient leader election: a pure core with no I/O. Every agent runs it on its own membership
 * view and they agree without a central server:
 *
 * - **Stability.** A follower keeps the leader it follows while that leader is alive (or only
 *   suspect) and still claims; another member's claim — higher term or older — is followed only
 *   once that leader stops claiming. A joining node never takes over, whatever its start time.
 *   With no alive member claiming, a suspect member's claim is followed (a healed pool's new
 *   leader is often suspect for a moment in the views of the old leader's followers).
 * - **Terms only go up** (Raft). A leader steps down only for a better claim: a higher term, or
 *   its own term from an older member. A claim below its term never wins, however long the leader
 *   has been without its lease: a node that joined unseen and claimed term 1 alone must not
 *   become the leader of a pool at term 3 (it would act with the term-1 fencing tokens again).
 * - **CheckQuorum** (etcd raft). A leader that holds its quorum lease never steps down. One
 *   without it steps down for a better claim at the same term at once (two candidates raced for
 *   one new term: the older wins), and for a higher term once it has not held the lease for
 *   `leaseTimeout` (a healed partition: the minority's leader yields to the majority's).
 * - **Re-bid.** A leader holding its lease that sees a better claim (a higher term, or its own
 *   from an older member) claims one above the highest term seen (at most once per
 *   `leaseTimeout`); the claimant without a lease yields to it (a healed minority, a racer). A
 *   key holder's higher claim moves only the term number, never the leadership.
 * - **One claim per failover.** With no claim to follow, only the oldest alive, non-retiring
 *   member claims, one term above the highest seen, and only once nobody has claimed for
 *   `claimDelay` (views of who died converge meanwhile), it has listened for `settleAfter` since
 *   it started and, given seeds, since it joined through one (or `joinWindow` passed). A suspect
 *   leader is still followed: a stalled loop costs no term. Claims are never re-asserted higher.
 * - **One leader per term.** Client tokens are (term, action number), numbered by each leader from
 *   its own intents, so two racers for one term must never both act in it: the one with the lease
 *   bids above the other (Re-bid); one that saw a rival of its term without the lease (the rival
 *   may have acted) is `contested`, does not act, and claims one above first.
 * - **Bounded terms** (terms.ts): a term beyond `highest accepted + maxTermStep` or beyond the
 *   safe-integer range is ignored and reported in `refused`.
 * Two leaders can coexist briefly (a partition, a race); terms and the lease fence their actions.
 */

export type { Candidate, RefusedTerm };

/** The rule that made a node claim or follow (the `reason` of its leader-elected event). */
export type ElectedReason = NonNullable<Extract<LeaderEvent, { type: 'leader-elected' }>['reason']>;

export interface LeaderInfo {
  peerId: string;
  term: number;
  /** When this node first accepted this leader at this term (epoch ms). */
  since: number;
}

export interface ElectionState {
  /** Highest term accepted anywhere. */
  term: number;
  /** The term this node leads, if it is the leader. */
  leads: number | null;
  leader: LeaderInfo | null;
  /** When this node's agent started; no claim before startedAt + settleAfter. */
  startedAt: number;
  /** When this node began leading `leads` (absent: at the next step). */
  leadingSince?: number | null;
  /** The last step at which this node, leading `leads`, held its quorum lease (null: never). */
  leaseHeldAt?: number | null;
  /** Since when this node has seen no claim to follow (null: it follows or leads one). */
  noClaimSince?: number | null;
  /** When this node last re-bid above a higher claim (null: never in this reign). */
  rebidAt?: number | null;
  /** Another member claimed the term this node leads ("One leader per term"). */
  contested?: boolean;
}

export type { LeaderEvent };

export interface ElectionInput {
  self: { peerId: string };
  /** Alive members other than self. */
  alive: readonly Candidate[];
  /** Suspect members other than self: only the leader this node follows counts (SWIM settles it soon). */
  suspect?: readonly Candidate[];
  /** Highest term seen in control messages (intents, retire requests), bounded by the shell as each arrived. */
  seenTerm: number;
  now: number;
  settleAfter: number;
  /** How long no claim must have been seen before the oldest member claims (ms). Default 0. */
  claimDelay?: number;
  /** Whether this node, if it leads, holds its quorum lease now. Default false. */
  leaseHeld?: boolean;
  /** How long a leader may be without its lease before it yields to a better claim (ms). */
  leaseTimeout?: number;
  /** See terms.ts. Default MAX_TERM_STEP. */
  maxTermStep?: number;
  /** Set when this node must not lead (it is retiring). */
  retiring?: boolean;
  /** Given seeds, not joined and settled yet (seeds.ts): no claim before startedAt + joinWindow (ms). */
  awaitingJoin?: boolean;
  joinWindow?: number;
}

export interface ElectionResult {
  state: ElectionState;
  events: LeaderEvent[];
  refused: RefusedTerm[];
}

/** Default lease timeout of the pure core (ms), the agent passes 3 × loadInterval. */
export const DEFAULT_LEASE_TIMEOUT = 6000;
/** How long a seeded node waits for its first join before it may claim (ms): several join rounds. */
export const DEFAULT_JOIN_WINDOW = 30_000;

export function initialElection(startedAt: number): ElectionState {
  return {
    term: 0,
    leads: null,
    leader: null,
    startedAt,
    leadingSince: null,
    leaseHeldAt: null,
    noClaimSince: null,
    rebidAt: null,
    contested: false,
  };
}

export function stepElection(state: ElectionState, input: ElectionInput): ElectionResult {
  const { self, now } = input;
  const events: LeaderEvent[] = [];
  const refused: RefusedTerm[] = [];
  const leaseTimeout = input.leaseTimeout ?? DEFAULT_LEASE_TIMEOUT;

  const reported = input.alive.map((c) => Math.max(c.term, c.leads ?? 0));
  const limit = termLimit(state.term, reported, input.maxTermStep ?? MAX_TERM_STEP);
  const alive = bounded(input.alive, limit, refused);
  const suspect = bounded(input.suspect ?? [], limit, refused);
  // Bounded by the shell as each message arrived (against the anchor of that moment): here only sane.
  let seenTerm = input.seenTerm;
  if (!acceptsTerm(seenTerm, MAX_TERM)) {
    refused.push({ peerId: null, term: seenTerm });
    seenTerm = 0;
  }
  let term = Math.max(state.term, seenTerm, ...alive.map((c) => Math.max(c.term, c.leads ?? 0)));

  let leads = state.leads;
  let leadingSince = leads === null ? null : (state.leadingSince ?? now);
  let leaseHeldAt = leads === null ? null : (state.leaseHeldAt ?? null);
  if (leads !== null && input.leaseHeld) leaseHeldAt = now;
  let rebidAt = leads === null ? null : (state.rebidAt ?? null);
  let contested = leads === null ? false : (state.contested ?? false);
  const claims = alive.filter((c): c is Claim => c.leads !== undefined);
  /** Why this node claims or follows whom it does, should that change in this step. */
  let why: ElectedReason | null = null;

  // Should we, leading, step down — or, holding the lease beside a higher claim, bid above it?
  if (leads !== null) {
    const mine: Claim = { peerId: self.peerId, startedAt: state.startedAt, term, leads };
    const rival = bestOf(claims);
    const withoutLease = input.leaseHeld ? 0 : now - (leaseHeldAt ?? leadingSince ?? now);
    let reason: string | null = null;
    if (input.retiring) [reason, why] = ['retiring', 'retiring'];
    else if (rival && better(rival, mine)) {
      const by = `claim by ${rival.peerId} at term ${rival.leads}`;
      if (input.leaseHeld) {
        const rested = rebidAt === null || now - rebidAt >= leaseTimeout;
        if (rested && Number.isSafeInteger(term + 1)) {
          term += 1;
          leads = term;
          rebidAt = now;
          contested = false;
          why = 'higher-term-seen';
        }
      } else if (rival.leads === leads) [reason, why] = [`better ${by} (same term, older)`, 'older-claim'];
      else if (withoutLease >= leaseTimeout)
        [reason, why] = [`better ${by}, no lease for ${withoutLease} ms`, 'lease-expired'];
    }
    if (reason !== null) {
      events.push({ type: 'leader-stepped-down', peerId: self.peerId, term: leads, at: now, reason });
      leads = null;
      leadingSince = null;
      leaseHeldAt = null;
      rebidAt = null;
      contested = false;
    }
  }

  // A rival of our term seen without the lease (it may have had a majority) contests it; one term
  // settles it. Seen with the lease, it had none: a key holder cannot stop a leased leader so.
  if (leads !== null) {
    const current = leads;
    const rival = claims.some((c) => c.leads === current);
    if (rival && !input.leaseHeld) contested = true;
    else if (contested && !claims.some((c) => c.leads > current) && Number.isSafeInteger(term + 1)) {
      term += 1;
      leads = term;
      rebidAt = now;
      contested = false;
      why = 'contested';
    }
  }

  // Whom do we follow? Ourselves; else the leader we followed while it still claims; else the best claim.
  let follow: Claim | undefined;
  if (leads !== null) follow = { peerId: self.peerId, startedAt: state.startedAt, term, leads };
  else {
    const current = state.leader?.peerId !== self.peerId ? state.leader : null;
    const seen = current && [...alive, ...suspect].find((c) => c.peerId === current.peerId);
    const still = seen?.leads !== undefined ? (seen as Claim) : undefined;
    // With no alive claim, a suspect member's (SWIM settles it soon): leaderless, a node would
    // stop acknowledging and, if oldest, claim a term of its own.
    const suspected = suspect.filter((c): c is Claim => c.leads !== undefined);
    follow = still ?? bestOf(claims) ?? bestOf(suspected);
    why ??= still ? 'higher-term-seen' : current && !seen ? 'leader-dead' : 'leader-claims';
  }

  let noClaimSince = follow ? null : (state.noClaimSince ?? now);
  if (!follow && Number.isSafeInteger(term + 1)) {
    const me: Candidate = { peerId: self.peerId, startedAt: state.startedAt, term };
    const eligible = [...(input.retiring ? [] : [me]), ...alive.filter((c) => !c.retiring)];
    const oldest = eligible.reduce<Candidate | undefined>((o, c) => (!o || older(c, o) ? c : o), undefined);
    const joinWait = input.awaitingJoin ? (input.joinWindow ?? DEFAULT_JOIN_WINDOW) : 0;
    const settled = now - state.startedAt >= Math.max(input.settleAfter, joinWait);
    const quiet = now - (noClaimSince ?? now) >= (input.claimDelay ?? 0);
    if (oldest?.peerId === self.peerId && settled && quiet) {
      why = 'no-leader-heard';
      term += 1;
      leads = term;
      leadingSince = now;
      leaseHeldAt = null;
      noClaimSince = null;
      follow = { ...me, term, leads: term };
    }
  }

  let leader: LeaderInfo | null = null;
  if (follow) {
    const same = state.leader && state.leader.peerId === follow.peerId && state.leader.term === follow.leads;
    leader = same && state.leader ? state.leader : { peerId: follow.peerId, term: follow.leads, since: now };
    if (!same) {
      events.push({
        type: 'leader-elected',
        peerId: follow.peerId,
        term: follow.leads,
        at: now,
        self: follow.peerId === self.peerId,
        ...(why !== null ? { reason: why } : {}),
      });
    }
  } else if (state.leader) {
    events.push({ type: 'leader-lost', peerId: state.leader.peerId, term: state.leader.term, at: now });
  }

  return {
    state: {
      term,
      leads,
      leader,
      startedAt: state.startedAt,
      leadingSince,
      leaseHeldAt,
      noClaimSince,
      rebidAt,
      contested,
    },
    events,
    refused,
  };
}

/** Whether an action tagged with `term` may still be carried out by this node. */
export function isCurrentTerm(state: ElectionState, term: number): boolean {
  return state.leads === term;
}
