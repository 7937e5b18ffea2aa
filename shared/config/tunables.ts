/**
 * Every tunable of the agent, in one place: what it does, its unit, its default and the trade-off.
 * Config files may override any of these per cloud (`agent: { ... }`), with durations given as
 * numbers of milliseconds or strings like '1s'. Inside the agent every value is a number in the
 * unit named here.
 */
export interface AgentTunables {
  /**
   * How often each agent publishes its heartbeat (ms). Default 1000.
   * Lower detects failures sooner but costs bandwidth: every member forwards every heartbeat,
   * so pool traffic grows with N² / interval.
   */
  heartbeatInterval: number;
  /**
   * A member not heard from for this long becomes `suspect` (ms). Default 3 × heartbeatInterval.
   * Too low and a dropped packet or GC pause flaps members; too high and failures surface late.
   */
  suspectAfter: number;
  /**
   * A member not heard from for this long becomes `dead` (ms). Default 5 × heartbeatInterval.
   * Must be greater than suspectAfter.
   */
  deadAfter: number;
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
   * Upper bound of open libp2p connections (count). Default 32. The gossip mesh needs about 6–12;
   * more connections cost memory and keep-alive traffic.
   */
  maxConnections: number;
  /**
   * Below this many connections the agent dials more known members (count). Default 8.
   */
  minConnections: number;
  /**
   * Largest heartbeat accepted, in bytes. Default 8192. Larger messages are rejected and counted.
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
    reapAfter: 60_000,
    sampleInterval: 1000,
    stallThreshold: 200,
    maxConnections: 32,
    minConnections: 8,
    maxMessageBytes: 8192,
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
