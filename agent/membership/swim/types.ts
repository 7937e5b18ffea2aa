/**
 * The contract between the pure membership core (SWIM + Lifeguard over a ring overlay) and the
 * shell that runs it on libp2p. The core has no timers and no sockets: the shell feeds it inputs
 * with the time, and carries out the effects it returns. The same core runs unchanged in the
 * deterministic simulator (scripts/simulate-membership.ts).
 *
 * Member ids are libp2p peer ids (strings). Times are ms of one injected clock.
 */

export type Liveness = 'alive' | 'suspect' | 'dead' | 'left';

/** What a member is, as far as liveness goes (records — addresses, cloud, … — live in the shell). */
export interface MemberLiveness {
  id: string;
  /** Raised only by the member itself, to refute a suspicion or to announce a restart/leave. */
  incarnation: number;
  state: Liveness;
  /** When this node last changed the member's state (its clock). */
  since: number;
}

/**
 * A membership change. Dead, left and a member's own announcements (join, restart, refuting a
 * death) are disseminated pool-wide (`broadcast`: the shell publishes them on gossipsub, signed by
 * the originator). A suspicion and its refutation are told only to those concerned (`tell`): the
 * suspect and its observers, the only members that can confirm it or must hear it refuted.
 * Precedence between updates about the same member follows SWIM: a higher incarnation wins; at
 * equal incarnation dead/left > suspect > alive.
 */
export type Update =
  | { kind: 'alive'; id: string; incarnation: number }
  | { kind: 'suspect'; id: string; incarnation: number; from: string; evidence: Evidence }
  | { kind: 'dead'; id: string; incarnation: number; from: string }
  | { kind: 'left'; id: string; incarnation: number };

/** The updates that are told point to point (`tell`) rather than broadcast. */
export type ToldUpdate = Extract<Update, { kind: 'alive' | 'suspect' }>;

/**
 * Why a prober suspects a member. `refused`: the member's host answered that nothing listens
 * (connection refused/reset while redialling) — strong evidence, as after kill -9. `timeout`:
 * silence only — weak evidence, as from an overloaded or stalled process, so it waits longer.
 */
export type Evidence = 'timeout' | 'refused';

/** Point-to-point probe messages (the shell sends them over a libp2p stream protocol). */
export type ProbeMessage =
  | { t: 'ping'; seq: number }
  | { t: 'ack'; seq: number }
  /** Ask the receiver to probe `target` on our behalf and answer with `ack` or `nack`. */
  | { t: 'ping-req'; seq: number; target: string }
  | { t: 'nack'; seq: number };

/** A digest entry for anti-entropy (push-pull): enough to tell who knows more. */
export interface DigestEntry {
  id: string;
  incarnation: number;
  state: Liveness;
}

export type CoreInput =
  | { type: 'tick'; now: number }
  | { type: 'probe'; from: string; msg: ProbeMessage; now: number }
  /** `rerouted`: a suspicion of us that came on the members topic (its accuser could not tell us: detours.ts). */
  | { type: 'update'; update: Update; now: number; rerouted?: boolean }
  /** The transport could not reach `id` (dial refused, connection reset). */
  | { type: 'unreachable'; id: string; evidence: Evidence; now: number }
  /**
   * Anti-entropy: a peer's full liveness table (on join, and periodically). `from`: that peer, if
   * the shell knows it; a table from a member we hold dead or left is the other side's view.
   */
  | { type: 'sync'; entries: readonly DigestEntry[]; now: number; from?: string }
  /**
   * A `tell` of `update` to `to` failed, and not because nothing listens there (a dial timeout
   * mid-storm, no address): the core may send it another way (detours.ts).
   */
  | { type: 'undelivered'; to: string; update: ToldUpdate; now: number }
  /** This node leaves gracefully. */
  | { type: 'leave'; now: number };

export type MemberEventType = 'member-joined' | 'member-suspect' | 'member-dead' | 'member-left' | 'member-recovered';

export type Effect =
  | { type: 'send'; to: string; msg: ProbeMessage }
  /** Disseminate to the whole pool (dead, left, a member's own alive). */
  | { type: 'broadcast'; update: Update }
  /**
   * Send to these members only, point to point, like a probe (latency and loss, no relay): a
   * suspicion to the suspect and its observers, a refutation to our observers and accusers. The
   * core re-sends it a bounded number of times while it holds (`tellRetransmits`).
   */
  | { type: 'tell'; to: string[]; update: ToldUpdate }
  /**
   * A suspicion whose tell could not reach its suspect: publish it once on the members topic, where
   * the suspect alone applies it (others pass it on) and answers with its alive to the pool.
   */
  | { type: 'reroute'; update: Extract<Update, { kind: 'suspect' }> }
  | { type: 'event'; event: MemberEventType; id: string; at: number }
  /**
   * Ask `with` for its table and send ours (anti-entropy); the shell answers with a `sync` input.
   * `news`: a follow-up passing on a member we learnt (sync-schedule.ts), not a routine check.
   */
  | { type: 'sync'; with: string; news: boolean }
  /** The set of peers this node probes or is probed by changed: keep connections to exactly these. */
  | { type: 'neighbours'; ids: string[] };
