import type { AgentRuntime } from '../config/resolve.ts';
import type { SshUsingDefinition } from '../config/ssh-schema.ts';
import type { Artifact } from '../provision/artifact.ts';
import type { ProvisionProgress, ProvisionTimeouts } from '../provision/provision.ts';
import type { AgentConfig } from '../wire/agent-config.ts';
import { SSH_REMOTER_DEFAULTS, type SshRemoterTunables } from './remoter-tunables.ts';

export { SSH_REMOTER_DEFAULTS, type SshRemoterTunables };

/** What the ssh remoter base (ssh.ts) is built with: its tunables (remoter-tunables.ts) and options. */

export interface SshRemoterOptions extends Partial<SshRemoterTunables> {
  /** The pool's name. */
  pool: string;
  cloud: string;
  using: SshUsingDefinition;
  /** The pool's state dir (pool.key, known_hosts, ssh/hosts.json). */
  stateDir: string;
  /** Builds an agent's config, e.g. `(rt) => resolveAgentConfig(pool, cloud, rt)`. */
  agentConfig: (runtime: AgentRuntime) => AgentConfig;
  /**
   * The pool's clouds by provider, written into every agent's launcher block so that an ssh agent
   * knows which clouds exist and which need a launcher certificate. Default: this cloud only.
   */
  clouds?: Record<string, string>;
  /** Replace recorded host keys that changed (replaced machines). Default false. */
  acceptNewHostKey?: boolean;
  /** The agent artifact or its directory (default <package>/dist/artifact). */
  artifact?: Artifact | string;
  /** Extra agent environment (agent.env). */
  env?: Record<string, string>;
  /** Provisioning timeouts; waitTimeout defaults to the cloud's `waitTimeout`. */
  timeouts?: Partial<ProvisionTimeouts>;
  /** Progress of every host's provisioning (connect, host key, upload, start…), for the CLI. */
  onProgress?: (e: ProvisionProgress) => void;
  /** The cloud's configuration bundle, uploaded with the agent (built once per launch). */
  bundle?: () => Promise<{ sha256: string; bytes: Buffer } | undefined>;
}
