import type { AgentConfig } from '../wire/agent-config.ts';
import type { HealthView } from '../wire/cluster.ts';
import type { Artifact } from './artifact.ts';
import type { SshProgress, SshTarget } from './connect.ts';
import type { HostKeyCheck, HostKeyVerifier } from './known-hosts.ts';
import type { RemoteLayout } from './layout.ts';
import { PROVISION_TIMEOUT_DEFAULTS, type ProvisionTimeouts } from './timeouts-schema.ts';

/** What provisioning a host (provision.ts) takes, reports and returns. */

export type InitMode = 'systemd' | 'none';

export interface HostTarget extends SshTarget {
  /** Install prefix ('' = system paths). */
  prefix?: string;
  /** 'auto' (default): systemd when /run/systemd/system exists on the host. */
  init?: InitMode | 'auto';
}

export { PROVISION_TIMEOUT_DEFAULTS, type ProvisionTimeouts };

export interface NodeInfo {
  path: string;
  version: string;
}

/** What the agent-config builder gets: the host's paths and identity, decided by the provisioner. */
export interface AgentConfigContext {
  target: HostTarget;
  layout: RemoteLayout;
  init: InitMode;
  node: NodeInfo;
  /** The agent's libp2p peer id (kept across re-provisioning). */
  peerId: string;
  /** Fields the config must use as given (checked): they are where the files are uploaded. */
  paths: { dataDir: string; poolKeyFile: string; stateDir: string };
}

export type ProvisionProgress =
  | SshProgress
  | { type: 'probed'; host: string; node: NodeInfo; init: InitMode; peerId: string; newIdentity: boolean }
  | { type: 'upload'; host: string; file: string; bytes: number }
  | { type: 'artifact-unchanged'; host: string; sha256: string }
  | { type: 'starting'; host: string; init: InitMode }
  | { type: 'stopped-old'; host: string; pids: number[] }
  | { type: 'healthy'; host: string; peerId: string; pid?: number }
  | { type: 'removed'; host: string; stoppedPids: number[]; unitRemoved: boolean };

export interface SessionOptions {
  target: HostTarget;
  /** The pool's trust store, `<stateDir>/known_hosts`. */
  knownHostsFile: string;
  /** Checks host keys instead of KnownHosts(knownHostsFile), e.g. under an EC2 instance id (ec2.ts). */
  hostKeys?: HostKeyVerifier;
  /** Replace a recorded host key that changed (a replaced machine). Never implied. */
  acceptNewHostKey?: boolean;
  timeouts?: Partial<ProvisionTimeouts>;
  onProgress?: (e: ProvisionProgress) => void;
}

export interface ProvisionHostOptions extends SessionOptions {
  /** The pool key on this machine; uploaded 0600. */
  poolKeyFile: string;
  /** The artifact, or its directory. Default: <package>/dist/artifact. */
  artifact?: Artifact | string;
  /** Builds the agent's config (e.g. around resolveAgentConfig); may wait, e.g. for other hosts' peer ids. */
  agentConfig: (ctx: AgentConfigContext) => AgentConfig | Promise<AgentConfig>;
  /** Extra agent environment (agent.env), e.g. { NODE_OPTIONS: '--max-old-space-size=256' }. */
  env?: Record<string, string>;
  /** Unit template text. Default: the package's systemd/poolparty-agent.service. */
  unitTemplate?: string;
  /**
   * The configuration bundle: cached in the agent's data dir and named in its config, so the
   * agent applies it at first boot. (An agent that already applied one keeps it: changing the
   * configuration of a running pool is `poolparty configure`'s rolling update.)
   */
  bundle?: { sha256: string; bytes: Buffer };
}

export interface ProvisionResult {
  host: string;
  port: number;
  init: InitMode;
  node: NodeInfo;
  peerId: string;
  hostKey: HostKeyCheck;
  artifactUploaded: boolean;
  /** Pids of agents from an earlier provisioning that were stopped. */
  replacedPids: number[];
  pid?: number;
  health: HealthView;
  config: AgentConfig;
}

export type DeprovisionOptions = SessionOptions;

export interface DeprovisionResult {
  host: string;
  stoppedPids: number[];
  unitRemoved: boolean;
}
