/**
 * What a user writes for a cloud of static SSH hosts (`using: ssh({...})` in clouds.ts). Kept
 * free of zod so the package's public entry stays light; validation is in ssh-schema.ts.
 */

/** One machine; a bare string is `{ host }`. */
export interface SshHostInput {
  /** Address or name the CLI connects to; also the address the agent binds and announces. */
  host: string;
  /** SSH port of this host. Default: the cloud's `port`. */
  port?: number;
  /**
   * Install prefix on the host: files go to <prefix>/opt/poolparty, <prefix>/etc/poolparty,
   * <prefix>/var/lib/poolparty. Default '' (the real system paths). For tests and for hosts that
   * share a file system.
   */
  prefix?: string;
  /**
   * Address the agent binds (monitor and libp2p). Default: `host` when it is an IPv4 address,
   * else 0.0.0.0 — a name or a NATed public address cannot be bound.
   */
  bind?: string;
}

export interface SshOptions {
  /** The machines of this cloud; `launch` takes those not in use. */
  hosts: (string | SshHostInput)[];
  /** Login user. Default 'root'; another user needs passwordless sudo (`sudo -n`). */
  user?: string;
  /** Private key file (OpenSSH or PEM, unencrypted). Default '~/.ssh/id_ed25519'. */
  keyFile?: string;
  /** SSH port of every host unless the host says otherwise. Default 22. */
  port?: number;
  /**
   * How the agent is kept running: 'systemd' (unit poolparty-agent.service), 'none' (a detached
   * process with a pid file, for hosts without systemd), or 'auto' (default): systemd when
   * /run/systemd/system exists on the host.
   */
  init?: 'systemd' | 'none' | 'auto';
  /** libp2p TCP port of every agent. Default 8643. */
  p2pPort?: number;
  /** Monitor port of every agent. Default: the cloud's `monitor.port`, else 8642. */
  monitorPort?: number;
  /** How long to wait for a host's SSH to answer (ms or '2m'), e.g. while it boots. Default '60s'. */
  waitTimeout?: number | string;
}

export interface SshUsing extends SshOptions {
  provider: 'ssh';
}

/** Static SSH hosts: the CLI provisions the agent over SSH (artifact + config + systemd unit). */
export function ssh(opts: SshOptions): SshUsing {
  return { provider: 'ssh', ...opts };
}
