import * as z from 'zod';
import { durationSchema } from './duration-schema.ts';

const count = z.number().int().min(1);

/**
 * Every tunable of the agent, in one place: what it does, its unit, its default and the trade-off.
 * Config files may override any of these per cloud (`agent: { ... }`), with durations given as
 * numbers of milliseconds or strings like '1s'. Inside the agent every value is a number in the
 * unit named here. The same schema reads a cloud's `agent` block and the `tunables` of an agent
 * config, so a default or a bound is written once.
 */
const fields = {
  /**
   * The membership probe period (ms). Default 1000. Each agent probes one ring neighbour per
   * period (SWIM), so an agent's traffic does not depend on the pool's size; lower detects silent
   * failures sooner for more probe traffic. (Named for the heartbeat it replaced.)
   */
  heartbeatInterval: durationSchema(1).default(1000),
  /**
   * Least time a member suspected on silence alone has to refute before it is declared dead (ms).
   * Default 3 × heartbeatInterval. The suspicion starts at 4 × this and shrinks towards it as
   * other observers confirm (Lifeguard). It must outlast an event-loop stall of a healthy member
   * (2 s), or a slow member is declared dead. A refused connection (the process is gone) is
   * declared dead after heartbeatInterval / 2 instead.
   */
  suspectAfter: durationSchema(1).optional(),
  /**
   * How long the leader's scaler waits after a member went dead before it replaces its instance
   * (ms). Default 5 × heartbeatInterval. Must be greater than suspectAfter.
   */
  deadAfter: durationSchema(1).optional(),
  /**
   * How often each member sends its metrics to the leader (ms). Default 2000. The leader's
   * summary of every member's metrics goes out every max(5 s, N × 1 s). The reports double as
   * acknowledgements of the leader's term (its quorum lease).
   */
  loadInterval: durationSchema(1).default(2000),
  /**
   * How long a member that relays load reports up the tree to the leader gathers its children's
   * reports before sending them on in one frame (ms). Default 50. Each hop adds up to this to a
   * report's way (the tree is ~4 hops deep at 50 members, ~6 at 1000), so a new leader's lease
   * waits a few times this longer; shorter sends more, smaller frames.
   */
  relayDelay: durationSchema(1).default(50),
  /**
   * A member unreachable for this long is replaced even though the provider still lists its
   * instance as running (ms). Default 300000 (5 min): a partition shorter than this never costs a
   * healthy machine; an instance the provider reports gone is replaced after deadAfter.
   */
  replaceAfter: durationSchema(1).default(300_000),
  /**
   * EC2 clouds without identityCertificate: how long the leader reuses its DescribeInstances
   * listing and each binding verdict from it (ms). Default 60000. Shorter re-checks claims sooner
   * after an instance is stopped or terminated, for one more listing per period on the leader.
   */
  bindingListingTtl: durationSchema(1000).default(60_000),
  /**
   * Rings of the membership overlay (count). Default 3. Each member is probed by one neighbour
   * per ring and keeps connections to at most 2 × rings neighbours; more rings confirm failures
   * faster for more traffic.
   */
  rings: count.default(3),
  /**
   * A dead or left member is removed from the view this long after it died or left (ms).
   * Default 60000. Long enough for operators to see the death in /cluster.
   */
  reapAfter: durationSchema().default(60_000),
  /**
   * How often load, cpu and mem are sampled (ms). Default 1000. Sampling cpu costs a little CPU;
   * the value sent in each heartbeat is the latest sample.
   */
  sampleInterval: durationSchema(1).default(1000),
  /**
   * Event-loop lag above this (ms) counts as a local stall: the stalled time is not held against
   * peers, so a blocked agent does not declare healthy peers dead. Default 200.
   */
  stallThreshold: durationSchema(1).default(200),
  /**
   * Upper bound of open libp2p connections (count). Default 16: the ring neighbours (≤ 2 × rings),
   * the leader, and a few spare; more cost memory and keep-alive traffic.
   */
  maxConnections: count.default(16),
  /**
   * How long the larger peer id of a new ring edge waits for the other end's dial before dialling
   * itself (ms). One connection per edge instead of a crossed pair (agent/membership/dial-order.ts);
   * an edge only one end sees still forms. Default 5000.
   */
  dialDefer: durationSchema(1).default(5000),
  /**
   * Largest gossip message accepted, in bytes. Default 262144: the leader's load summary lists
   * every member (~40 B each). Larger messages are rejected and counted.
   */
  maxMessageBytes: z
    .number()
    .int()
    .min(256)
    .default(256 * 1024),
  /**
   * How long a graceful leave waits for its announcement to be sent before stopping (ms).
   * Default 500.
   */
  leaveGrace: durationSchema().default(500),
  /**
   * Longest a configuration run (hooks, resolver, verifiers) may take before it is killed and
   * counted as failed (ms). Default 600000 (10 min): package installs can be slow.
   */
  applyTimeout: durationSchema(1).default(600_000),
  /** Largest configuration bundle accepted from a peer or the CLI (bytes). Default 67108864 (64 MiB). */
  maxBundleBytes: count.default(64 * 1024 * 1024),
  /**
   * Members that may apply a new bundle, or restart into a new agent, at the same time in a rolling
   * update (count). Default 1. An upgrade push may set its own (`poolparty upgrade --max-unavailable`).
   */
  maxUnavailable: count.default(1),
  /**
   * How long a member restarted into a new agent has to be ready (joined, serving, bundle applied)
   * before its supervisor returns it to the previous artifact (ms). Default 120000: a loaded node
   * needs tens of seconds to start and rejoin; longer only delays a rollback. An upgrade push may
   * set its own (`poolparty upgrade --gate`).
   */
  upgradeGate: durationSchema(1).default(120_000),
  /**
   * Largest agent artifact accepted over the network (bytes). Default 268435456 (256 MiB): the
   * artifact is ~2.5 MB, so the bound only stops a peer from filling the disk.
   */
  maxArtifactBytes: count.default(256 * 1024 * 1024),
  /** How often the leader advances a rollout and a restarted agent checks its gate (ms). Default 1000. */
  upgradeTick: durationSchema(1).default(1000),
};

/**
 * The tunables, defaults applied (suspectAfter and deadAfter follow heartbeatInterval unless
 * given). Strict: a misspelt tunable is an error, not a silently ignored key.
 */
export const agentTunablesSchema = z
  .strictObject(fields)
  .transform((t) => ({
    ...t,
    suspectAfter: t.suspectAfter ?? 3 * t.heartbeatInterval,
    deadAfter: t.deadAfter ?? 5 * t.heartbeatInterval,
  }))
  .refine((t) => t.suspectAfter < t.deadAfter, {
    error: (iss) => {
      const t = iss.input as { suspectAfter: number; deadAfter: number };
      return `suspectAfter (${t.suspectAfter}ms) must be less than deadAfter (${t.deadAfter}ms)`;
    },
  });

/** The agent's tunables, every value a number in the unit its field names. */
export type AgentTunables = z.output<typeof agentTunablesSchema>;

/** A cloud's `agent` block as written in clouds.ts: any subset, durations as ms or '1s'. */
export type TunablesInput = z.input<typeof agentTunablesSchema>;

/**
 * Tunables that no longer do anything, each with what to do instead. A clouds.ts still setting
 * one fails to load with this message; an agent config written by an older CLI still carrying one
 * is accepted without it (an agent refusing to start over a dead key would be worse).
 */
export const RETIRED_TUNABLES: Readonly<Record<string, string>> = {
  minConnections: 'no longer exists (nothing read it since the ring overlay): delete it',
};

/** Every default, with suspectAfter and deadAfter derived from the given heartbeatInterval. */
export function defaultTunables(heartbeatInterval = 1000): AgentTunables {
  return agentTunablesSchema.parse({ heartbeatInterval });
}

/** Where an agent serves its monitor (a cloud's `monitor` block). */
export const monitorSchema = z.strictObject({
  /** Bind address. Default '0.0.0.0': every interface, so peers and the CLI can read it. */
  host: z.string().min(1).default('0.0.0.0'),
  /** TCP port. Default 8642. */
  port: z.number().int().min(1).max(65535).default(8642),
});

/** Defaults of the monitor: the schema's own, parsed from nothing. */
export const MONITOR_DEFAULTS: Readonly<z.output<typeof monitorSchema>> = Object.freeze(monitorSchema.parse({}));

/** Default libp2p TCP port of an agent (next to the monitor's 8642). */
export const P2P_DEFAULT_PORT = 8643;
