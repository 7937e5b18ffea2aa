import { isIPv4 } from 'node:net';
import * as z from 'zod';
import { durationMsField, installPrefixField, sshInitField, sshPortField, sshUserField } from './ssh-fields.ts';
import { MONITOR_DEFAULTS, P2P_DEFAULT_PORT } from './tunables.ts';

/**
 * Validation of `using: ssh({...})` (see ssh-input.ts for the documented fields) and its normalised
 * form. The lead wires `sshUsingSchema` into the `using` discriminated union of schema.ts and calls
 * `normalizeSshUsing(parsed, cloud.monitor.port)` in the cloud transform, like local's defaults.
 */

/** Defaults of the ssh provider. */
export const SSH_DEFAULTS = {
  user: 'root',
  keyFile: '~/.ssh/id_ed25519',
  port: 22,
  init: 'auto',
  /** A booting cloud machine takes 20-60s to answer SSH; a static host answers at once or is down. */
  waitTimeout: 60_000,
} as const;

export type SshInit = 'systemd' | 'none' | 'auto';

export interface SshHostDefinition {
  host: string;
  port: number;
  /** '' or an absolute path without a trailing '/'. */
  prefix: string;
  /** The address the agent binds. */
  bind: string;
}

export interface SshUsingDefinition {
  provider: 'ssh';
  hosts: SshHostDefinition[];
  user: string;
  /** As written ('~' expanded by the remoter at use). */
  keyFile: string;
  init: SshInit;
  p2pPort: number;
  monitorPort: number;
  /** ms */
  waitTimeout: number;
}

const port = sshPortField;
/** Host names and addresses: no whitespace, no shell or URL metacharacters, no option-looking '-'. */
const hostName = z
  .string()
  .regex(/^[A-Za-z0-9_.:[\]-]+$/, { error: (iss) => `invalid host ${JSON.stringify(iss.input)}` })
  .refine((s) => !s.startsWith('-'), { error: 'a host must not start with -' });
const prefix = installPrefixField;

const hostEntry = z.union([
  hostName,
  z.strictObject({ host: hostName, port: port.optional(), prefix: prefix.optional(), bind: z.ipv4().optional() }),
]);

export const sshUsingSchema = z.strictObject({
  provider: z.literal('ssh'),
  hosts: z.array(hostEntry).min(1, { error: 'at least one host is required' }),
  user: sshUserField.optional(),
  keyFile: z.string().min(1).optional(),
  port: port.optional(),
  init: sshInitField.optional(),
  p2pPort: port.optional(),
  monitorPort: port.optional(),
  waitTimeout: durationMsField(),
});

export type SshUsingParsed = z.output<typeof sshUsingSchema>;

export class SshConfigError extends Error {
  override name = 'SshConfigError';
}

/** Applies the defaults; throws SshConfigError on duplicate hosts or clashing ports. */
export function normalizeSshUsing(u: SshUsingParsed, monitorPort: number = MONITOR_DEFAULTS.port): SshUsingDefinition {
  const sshPort = u.port ?? SSH_DEFAULTS.port;
  const hosts = u.hosts.map((h): SshHostDefinition => {
    const entry = typeof h === 'string' ? { host: h } : h;
    return {
      host: entry.host,
      port: entry.port ?? sshPort,
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
    user: u.user ?? SSH_DEFAULTS.user,
    keyFile: u.keyFile ?? SSH_DEFAULTS.keyFile,
    init: u.init ?? SSH_DEFAULTS.init,
    p2pPort: u.p2pPort ?? P2P_DEFAULT_PORT,
    monitorPort: u.monitorPort ?? monitorPort,
    waitTimeout: u.waitTimeout ?? SSH_DEFAULTS.waitTimeout,
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
