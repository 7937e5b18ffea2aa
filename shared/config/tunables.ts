/**
 * Every tunable of the agent, in one place: what it does, its unit, its default and the trade-off.
 * Config files may override any of these per cloud (`agent: { ... }`), with durations given as
 * numbers of milliseconds or strings like '1s'. Inside the agent every value is a number in the
 * unit named here.
 */
export interface AgentTunables {
  /**
   * The membership probe period (ms). Default 1000. Each agent probes one ring neighbour per
   * period (SWIM), so an agent's traffic does not depend on the pool's size; lower detects silent
   * failures sooner for more probe traffic. (Named for the heartbeat it replaced.)
   */
  heartbeatInterval: number;
  /**
   * Least time a member suspected on silence alone has to refute before it is declared dead (ms).
   * Default 3 × heartbeatInterval. The suspicion starts at 4 × this and shrinks towards it as
   * other observers confirm (Lifeguard). It must outlast an event-loop stall of a healthy member
   * (2 s), or a slow member is declared dead. A refused connection (the process is gone) is
   * declared dead after heartbeatInterval / 2 instead.
   */
  suspectAfter: number;
  /**
   * How long the leader's scaler waits after a member went dead before it replaces its instance
   * (ms). Default 5 × heartbeatInterval. Must be greater than suspectAfter.
   */
  deadAfter: number;
  /**
   * How often each member sends its metrics to the leader (ms). Default 2000. The leader's
   * summary of every member's metrics goes out every max(5 s, N × 1 s). The reports double as
   * acknowledgements of the leader's term (its quorum lease).
   */
  loadInterval: number;
  /**
   * A member unreachable for this long is replaced even though the provider still lists its
   * instance as running (ms). Default 300000 (5 min): a partition shorter than this never costs a
   * healthy machine; an instance the provider reports gone is replaced after deadAfter.
   */
  replaceAfter: number;
  /**
   * Rings of the membership overlay (count). Default 3. Each member is probed by one neighbour
   * per ring and keeps connections to at most 2 × rings neighbours; more rings confirm failures
   * faster for more traffic.
   */
  rings: number;
  /**
   * A dead or left member is removed from the view this long after it died or left (ms).
   * Default 60000. Long enough for operators to see the death in /cluster.
   */
  reapAfter: number;
  /**
   * How often load, cpu and mem are sampled (ms). Default 1000. Sampling cpu costs a little CPU;
   * the value sent in each heartbeat is the latest sample.
   */
  sampleInterval: number;
  /**
   * Event-loop lag above this (ms) counts as a local stall: the stalled time is not held against
   * peers, so a blocked agent does not declare healthy peers dead. Default 200.
   */
  stallThreshold: number;
  /**
   * Upper bound of open libp2p connections (count). Default 16: the ring neighbours (≤ 2 × rings),
   * the leader, and a few spare; more cost memory and keep-alive traffic.
   */
  maxConnections: number;
  /**
   * Below this many connections the agent dials more known members (count). Default 8.
   */
  minConnections: number;
  /**
   * Largest gossip message accepted, in bytes. Default 262144: the leader's load summary lists
   * every member (~40 B each). Larger messages are rejected and counted.
   */
  maxMessageBytes: number;
  /**
   * How long a graceful leave waits for its announcement to be sent before stopping (ms).
   * Default 500.
   */
  leaveGrace: number;
  /**
   * Longest a configuration run (hooks, resolver, verifiers) may take before it is killed and
   * counted as failed (ms). Default 600000 (10 min): package installs can be slow.
   */
  applyTimeout: number;
  /** Largest configuration bundle accepted from a peer or the CLI (bytes). Default 64 MiB. */
  maxBundleBytes: number;
  /** Members that may apply a new bundle at the same time in a rolling update. Default 1. */
  maxUnavailable: number;
}

export function defaultTunables(heartbeatInterval = 1000): AgentTunables {
  return {
    heartbeatInterval,
    suspectAfter: 3 * heartbeatInterval,
    deadAfter: 5 * heartbeatInterval,
    loadInterval: 2000,
    replaceAfter: 300_000,
    rings: 3,
    reapAfter: 60_000,
    sampleInterval: 1000,
    stallThreshold: 200,
    maxConnections: 16,
    minConnections: 8,
    maxMessageBytes: 256 * 1024,
    leaveGrace: 500,
    applyTimeout: 600_000,
    maxBundleBytes: 64 * 1024 * 1024,
    maxUnavailable: 1,
  };
}

/** Defaults of the monitor: bind address and port. */
export const MONITOR_DEFAULTS = { host: '0.0.0.0', port: 8642 } as const;

/** Default libp2p TCP port of an agent (next to the monitor's 8642). */
export const P2P_DEFAULT_PORT = 8643;
