/**
 * Every knob of the SWIM + Lifeguard membership core, with its unit, default and trade-off.
 * Variants start from `defaultSwimConfig()` and override only what differs.
 */
export interface SwimConfig {
  /**
   * Number of hash rings in the overlay (K). Each node probes its successor on each ring and is
   * probed by its predecessor on each: K subjects and K observers, so at most 2K neighbours.
   * Default 3. More rings: more independent observers per member (faster, surer detection, more
   * confirmations) at the cost of more probe traffic and connections per node.
   */
  rings: number;
  /**
   * Time between two probes, in ms, before the awareness multiplier. Default 1000. Each node sends
   * one probe per interval regardless of pool size, so traffic per node is flat in N. Shorter:
   * faster detection of silent failures, more traffic. The shell must tick the core at least this
   * often (the stall guard counts on it).
   */
  probeInterval: number;
  /**
   * How long to wait for a direct `ack` before asking helpers (`ping-req`), in ms, before the
   * awareness multiplier. Default 400. Should exceed the 99th-percentile round trip; shorter makes
   * the indirect path (and its traffic) kick in more often.
   */
  probeTimeout: number;
  /**
   * How many other neighbours are asked to probe a silent subject on our behalf. Default 2. More
   * helpers: fewer false suspicions caused by one bad link, more traffic on each failed probe.
   */
  indirectChecks: number;
  /**
   * How many more times a targeted update is re-sent, one probe interval apart, while it still
   * holds: our suspicion of a member (to it and its observers) until it is refuted or declared
   * dead, our refutation (to our observers and accusers) until a newer incarnation replaces it.
   * Default 3. A suspicion is not flooded but told to about K + 1 members, so a lost copy is not
   * made up by other paths: with 1 % loss, four copies leave ~10⁻⁸ of a refutation unheard. More:
   * surer at the cost of a few messages per suspicion; 0: one copy each.
   */
  tellRetransmits: number;
  /**
   * Lower bound of the suspicion timeout for `timeout` evidence, in ms: how long a suspected member
   * has to refute before the suspecting node declares it dead. Default 3000: it must exceed a 2 s
   * event-loop stall of the suspected node plus dissemination of its refutation. Longer: fewer false
   * deaths, slower detection of silent (not refused) failures.
   *
   * Also how long a frame from a member itself (ping, ack, nack, ping-req on its own authenticated
   * connection) counts as direct evidence that it is alive: a suspicion or death of it that others
   * tell us (gossip, a told suspicion, a synced table) within that time is held back — after a
   * healed partition the other side's deaths name the incarnation it last knew and would otherwise
   * beat our `alive` (peer-view.ts `withholds`). A held death is applied as soon as our own check
   * of the member fails, or once it has been silent to us this long; so a dead member is kept at
   * most this much longer, and only by a node it spoke to itself. A death whose accuser we hold
   * dead or left (the other side of a heal) is held whatever our evidence: the member is probed at
   * once, and the death applied if that probe fails, or this long after it came if the member has
   * not spoken to us since (peer-view.ts `withholds`, the accuser rule).
   */
  suspicionMinTimeout: number;
  /**
   * Upper bound of the suspicion timeout for `timeout` evidence, in ms, used while no other node
   * confirms the suspicion. Confirmations shrink the timeout towards the minimum on a log curve
   * (Lifeguard). Default 4 × the minimum (12000). It is not scaled with log N, unlike memberlist:
   * the number of nodes that can confirm is K (the observers), not N.
   */
  suspicionMaxTimeout: number;
  /**
   * Suspicion timeout for `refused` evidence (the member's host said nothing listens), in ms.
   * Default 500: a kill -9 must be declared dead within a few seconds. A live member that was only
   * briefly unreachable (restart in progress) still gets this long to refute.
   */
  refusedSuspicionTimeout: number;
  /**
   * Ceiling of the local health score (Lifeguard awareness). Probe interval and timeout are
   * multiplied by (score + 1), so at most 9× here. Default 8. Higher: a sick node backs off further
   * instead of accusing healthy peers, but detects slower while sick.
   */
  awarenessMax: number;
  /**
   * Extra gap between two ticks, beyond `probeInterval`, that means our own event loop was blocked,
   * in ms. Default 500. Probes in flight during such a gap are cancelled (their missing acks say
   * nothing about the peer) and our running suspicion timers get at least this much more time, so
   * refutations queued behind the stall are read first.
   *
   * Also how late our own probe timers may run, in all, before the probe they time is no evidence
   * (probe.ts): a loop that is busy but still ticks every period runs expired timers before it
   * reads the acks that came meanwhile. Such a probe ends without an outcome and its target is
   * probed again at once (a few times in a row at most); helpers asked late still get their whole
   * window. Smaller: fewer false suspicions from a busy node, slower detection of silent failures
   * by it.
   */
  stallThreshold: number;
  /**
   * Base interval of anti-entropy (push-pull of the whole liveness table with one random
   * neighbour), in ms. Default 30000, scaled up with pool size like memberlist's push-pull:
   * × (ceil(log2(N) − log2(32)) + 1) above 32 members (300 s at 10,000), because a table exchange
   * costs O(N) bytes. Anti-entropy only repairs missed updates; detection never waits on it.
   */
  syncInterval: number;
  /**
   * Time between two follow-up syncs after news (a member this node did not hold), in ms. Default
   * 400. News is passed on with 2⌈log₂(N + 1)⌉ push-pull syncs with members picked pool-wide
   * (sync-schedule.ts), so a joiner is in every view after a few log₂ N of these intervals
   * whether or not its own announcement reached anyone (simulated, N=50, 1 % loss, announcements
   * lost: 1.7–3.7 s median, 4.7 s worst of 8 seeds; 500 ms: 5.7 s worst). Shorter: faster spread,
   * a denser burst of syncs per join; once views agree, each is a hash and "same".
   */
  followUpInterval: number;
  /**
   * How long a dead or left member stays in the table before it is forgotten, in ms. Default
   * 60000. Its last incarnation is then kept as a tombstone so replays cannot resurrect it.
   */
  reapAfter: number;
  /**
   * Capacity of the tombstone map (id → last incarnation of reaped members); the oldest are evicted
   * first. Default 10000. A replay older than an evicted tombstone could resurrect a member until
   * the next suspicion removes it again.
   */
  maxTombstones: number;
  /**
   * Largest incarnation jump accepted in one update, relative to what this node knows of the member
   * (0 if unknown). Default 1000. A member raises its own incarnation by 1 per refutation or
   * restart, so honest jumps are small; this stops a hostile peer from pinning a member at 2^53.
   */
  maxIncarnationStep: number;
  /**
   * Largest member id accepted, in characters. Default 128 (libp2p peer ids are ~52).
   */
  maxIdLength: number;
  /**
   * Capacity of the member table (all states, self included). Default 10000. Past it, updates and
   * sync entries about unknown ids are dropped (counted in `SwimCore.counts.dropped`); known members still
   * change state, and a dropped member is learnt at a later sync once reaping frees room.
   */
  maxMembers: number;
  /**
   * Cap of `ping-req` probes this node serves at once for others, and of distinct suspectors
   * remembered per suspect member. Default 64. Bounds what a hostile peer can make us hold.
   */
  maxPending: number;
}

export function defaultSwimConfig(): SwimConfig {
  return {
    rings: 3,
    probeInterval: 1000,
    probeTimeout: 400,
    indirectChecks: 2,
    tellRetransmits: 3,
    suspicionMinTimeout: 3000,
    suspicionMaxTimeout: 12000,
    refusedSuspicionTimeout: 500,
    awarenessMax: 8,
    stallThreshold: 500,
    syncInterval: 30000,
    followUpInterval: 400,
    reapAfter: 60000,
    maxTombstones: 10000,
    maxIncarnationStep: 1000,
    maxIdLength: 128,
    maxMembers: 10000,
    maxPending: 64,
  };
}

/** Push-pull interval for a pool of `n` members (memberlist's pushPullScale). */
export function syncIntervalFor(config: SwimConfig, n: number): number {
  if (n <= 32) return config.syncInterval;
  return config.syncInterval * (Math.ceil(Math.log2(n) - Math.log2(32)) + 1);
}
