import { isIPv4 } from 'node:net';
import * as z from 'zod';
import { durationMsField, installPrefixField, sshInitField, sshPortField, sshUserField } from './ssh-fields.ts';
import { MONITOR_DEFAULTS, P2P_DEFAULT_PORT } from './tunables.ts';

/**
 * `using: ssh({...})` of clouds.ts: every field with its meaning and default, the input types
 * (ssh-input.ts re-exports them for clouds.ts) and the normalised form the ssh remoter reads.
 * schema.ts wires `sshUsingSchema` into the `using` union and calls
 * `normalizeSshUsing(parsed, cloud.monitor.port)` in the cloud transform, like local's defaults.
 */

const port = sshPortField;
/** Host names and addresses: no whitespace, no shell or URL metacharacters, no option-looking '-'. */
const hostName = z
  .string()
  .regex(/^[A-Za-z0-9_.:[\]-]+$/, { error: (iss) => `invalid host ${JSON.stringify(iss.input)}` })
  .refine((s) => !s.startsWith('-'), { error: 'a host must not start with -' });

/** One machine; a bare string is `{ host }`. */
const hostObject = z.strictObject({
  /** Address or name the CLI connects to; also the address the agent binds and announces. */
  host: hostName,
  /** SSH port of this host. Default: the cloud's `port`. */
  port: port.optional(),
  /**
   * Install prefix on the host: files go to <prefix>/opt/poolparty, <prefix>/etc/poolparty,
   * <prefix>/var/lib/poolparty. Default '' (the real system paths). For tests and for hosts that
   * share a file system.
   */
  prefix: installPrefixField.optional(),
  /**
   * Address the agent binds (monitor and libp2p). Default: `host` when it is an IPv4 address,
   * else 0.0.0.0 — a name or a NATed public address cannot be bound.
   */
  bind: z.ipv4().optional(),
});

/** The options with a default of their own; the ports of hosts and monitor follow the cloud. */
const defaulted = {
  /** Login user. Default 'root'; another user needs passwordless sudo (`sudo -n`). */
  user: sshUserField.default('root'),
  /** Private key file (OpenSSH or PEM, unencrypted). Default '~/.ssh/id_ed25519'. */
  keyFile: z.string().min(1).default('~/.ssh/id_ed25519'),
  /** SSH port of every host unless the host says otherwise. Default 22. */
  port: port.default(22),
  /**
   * How the agent is kept running: 'systemd' (unit poolparty-agent.service), 'none' (a detached
   * process with a pid file, for hosts without systemd), or 'auto' (default): systemd when
   * /run/systemd/system exists on the host.
   */
  init: sshInitField.default('auto'),
  /**
   * How long to wait for a host's SSH to answer (ms or '2m'), e.g. while it boots. Default '60s':
   * a booting cloud machine takes 20-60 s to answer SSH; a static host answers at once or is down.
   */
  waitTimeout: durationMsField().default(60_000),
  /**
   * How long the launcher certificate `bootstrap` signs for each host's agent stays valid (ms or
   * '720h'), at least '1m'. Default '8760h' (365 days). Members refuse an expired one: re-provision
   * the host before then (docs/ssh.md, "Launcher key and certificates"). Shorter limits what a
   * leaked host key and certificate are worth; longer means fewer re-provisions.
   */
  certificateValidity: durationMsField(60_000).default(8_760 * 3_600_000),
};

/** Defaults of the ssh provider (the schema's own, parsed from nothing). */
export const SSH_DEFAULTS = Object.freeze(z.strictObject(defaulted).parse({}));

export const sshUsingSchema = z.strictObject({
  provider: z.literal('ssh'),
  /** The machines of this cloud; `launch` takes those not in use. */
  hosts: z.array(z.union([hostName, hostObject])).min(1, { error: 'at least one host is required' }),
  ...defaulted,
  /** libp2p TCP port of every agent. Default 8643. */
  p2pPort: port.default(P2P_DEFAULT_PORT),
  /** Monitor port of every agent. Default: the cloud's `monitor.port`, else 8642. */
  monitorPort: port.optional(),
});

export type SshUsingParsed = z.output<typeof sshUsingSchema>;
/** One host as written in clouds.ts (a bare string is `{ host }`). */
export type SshHostInput = z.input<typeof hostObject>;
export type SshInit = z.output<typeof sshInitField>;

/** A host with the cloud's defaults applied. `prefix`: '' or an absolute path without a trailing '/'. */
export type SshHostDefinition = Required<z.output<typeof hostObject>>;

/**
 * The normalised options the ssh remoter reads (`keyFile` as written, '~' expanded at use; the
 * cloud-wide `port` lives on in each host).
 */
export type SshUsingDefinition = Omit<SshUsingParsed, 'hosts' | 'port' | 'monitorPort'> & {
  hosts: SshHostDefinition[];
  monitorPort: number;
};

export class SshConfigError extends Error {
  override name = 'SshConfigError';
}

/** Applies the cloud's defaults; throws SshConfigError on duplicate hosts or clashing ports. */
export function normalizeSshUsing(u: SshUsingParsed, monitorPort: number = MONITOR_DEFAULTS.port): SshUsingDefinition {
  const hosts = u.hosts.map((h): SshHostDefinition => {
    const entry = typeof h === 'string' ? { host: h } : h;
    return {
      host: entry.host,
      port: entry.port ?? u.port,
      prefix: (entry.prefix ?? '').replace(/\/+$/, ''),
      bind: entry.bind ?? (isIPv4(entry.host) ? entry.host : '0.0.0.0'),
    };
  });
  const seen = new Set<string>();
  for (const h of hosts) {
    const key = `${h.host}:${h.port}`;
    if (seen.has(key)) throw new SshConfigError(`hosts: ${key} is listed twice`);
    seen.add(key);
  }
  const def: SshUsingDefinition = {
    provider: 'ssh',
    hosts,
    user: u.user,
    keyFile: u.keyFile,
    init: u.init,
    p2pPort: u.p2pPort,
    monitorPort: u.monitorPort ?? monitorPort,
    waitTimeout: u.waitTimeout,
    certificateValidity: u.certificateValidity,
  };
  if (def.p2pPort === def.monitorPort) throw new SshConfigError(`p2pPort and monitorPort are both ${def.p2pPort}`);
  return def;
}

/** Parses and normalises in one step (for callers outside the pool schema, e.g. tests). */
export function parseSshUsing(value: unknown, monitorPort?: number): SshUsingDefinition {
  const r = sshUsingSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new SshConfigError(`using: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return normalizeSshUsing(r.data, monitorPort);
}
