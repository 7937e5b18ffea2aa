import type { PoolDefinition } from '../config/schema.ts';
import type { AgentTunables } from '../config/tunables.ts';
import type { ScalingConfig } from '../scaling/config.ts';
import type { MetricSourceSpec } from './metrics.ts';

/**
 * What an agent needs to run, fully resolved (no defaults left to apply, durations in ms).
 * Written as JSON by whoever starts the agent (the local remoter base, the SSH provisioner,
 * EC2 user data) and read by `poolparty-agent --config FILE`.
 */
export interface AgentConfig {
  pool: string;
  cloud: string;
  /** The remoter base's id for this instance (local: 'local-3'; EC2: 'i-0abc…'). */
  instanceId: string;
  /** Holds the agent's persistent identity key (peer-key, 0600) and its caches. */
  dataDir: string;
  /** The pool's pre-shared key file (libp2p pnet format), 0600. */
  poolKeyFile: string;
  /** libp2p listen multiaddrs, e.g. /ip4/127.0.0.2/tcp/8643. */
  listen: string[];
  /** Multiaddrs (with /p2p/<peerId>) of members to dial first. May be empty for the first node. */
  bootstrap: string[];
  monitor: {
    host: string;
    port: number;
    /** The URL other nodes and the CLI use to reach this monitor; gossiped in heartbeats. */
    url: string;
  };
  tunables: AgentTunables;
  /**
   * The configuration bundle this node applies at first boot (before any leader announces a
   * rollout), and where else it may fetch it. Absent: the node waits for a rollout.
   */
  bundle?: AgentBundleConfig;
  metrics: Record<string, MetricSourceSpec>;
  /**
   * Present when this agent may act as leader for its cloud: bounds, rules, and what it needs to
   * build the cloud's remoter base. Absent: the agent takes part in the election but never acts.
   */
  scaling?: {
    min: number;
    max: number;
    config: ScalingConfig;
    /** The resolved pool definition (the remoter base launches more agents from it). */
    definition: PoolDefinition;
    /** The pool's state dir on this host (local provider: instance records, pool key). */
    stateDir: string;
  };
}

export interface AgentBundleConfig {
  /** sha256 of the desired bundle archive. */
  sha256: string;
  /**
   * An SSH host holding `<dir>/<sha256>.tar.gz`, tried after the local cache and before peers.
   * Its host key must already be known (knownHostsFile or a pinned SHA256 fingerprint): a node
   * has no operator to confirm a new one.
   */
  sftp?: {
    host: string;
    port: number;
    user: string;
    keyFile: string;
    dir: string;
    knownHostsFile?: string;
    hostKey?: string;
  };
}
