import * as z from 'zod';
import { durationMsField, installPrefixField, sshInitField, sshPortField, sshUserField } from './ssh-fields.ts';

/**
 * The optional `ssh` section of `using: ec2({...})`: with it, `poolparty bootstrap` does not rely
 * on user data alone but waits for every instance it launched (and every one already running) to
 * answer SSH and provisions the agent over it, exactly as on static SSH hosts (docs/ssh.md): the
 * laptop's agent artifact, the configuration bundle, the pool key and an agent config for that
 * instance. Nodes themselves never use it: a leader launching more instances relies on user data.
 */

export type Ec2SshAddress = 'public' | 'private';

/** What a user writes in clouds.ts: `ec2({ …, ssh: { keyFile: '~/.ssh/ops.pem' } })`. */
export interface Ec2SshOptions {
  /**
   * Login user. Default 'ec2-user' (Amazon Linux, RHEL, Fedora); Debian images use 'admin',
   * Ubuntu 'ubuntu'. A user other than root needs passwordless sudo, which those images give the
   * default user.
   */
  user?: string;
  /**
   * The laptop's private key matching the cloud's `keyName` (the key pair EC2 installs for the
   * default user), or any key the image accepts. Unencrypted OpenSSH or PEM. Default
   * '~/.ssh/id_ed25519'.
   */
  keyFile?: string;
  /** SSH port. Default 22. */
  port?: number;
  /**
   * Which address the laptop connects to: 'public' (default; an instance without a public address
   * is reached at its private one) or 'private' (the laptop is inside the VPC, or on a VPN into it).
   */
  address?: Ec2SshAddress;
  /**
   * Install prefix on the instance, as for ssh hosts: files go to <prefix>/opt/poolparty,
   * <prefix>/etc/poolparty, <prefix>/var/lib/poolparty. Default '' (the paths user data uses too,
   * so provisioning replaces what user data installed). For tests.
   */
  prefix?: string;
  /**
   * How the agent is kept running: 'auto' (default: systemd when the instance runs it, as every
   * EC2 Linux image does), 'systemd', or 'none' (a detached process, for images without systemd).
   */
  init?: 'systemd' | 'none' | 'auto';
  /**
   * How long bootstrap waits for an instance to be running with its address and to answer SSH
   * (ms or '3m'), from the launch. Default '3m': an instance usually takes 30–90 s to boot sshd.
   */
  waitTimeout?: number | string;
}

/** The normalised section (defaults applied; plain JSON, it travels in every agent's config). */
export interface Ec2SshDefinition {
  user: string;
  /** As written ('~' expanded by the CLI at use). */
  keyFile: string;
  port: number;
  address: Ec2SshAddress;
  /** '' or an absolute path without a trailing '/'. */
  prefix: string;
  init: 'systemd' | 'none' | 'auto';
  /** ms */
  waitTimeout: number;
}

export const EC2_SSH_DEFAULTS: Ec2SshDefinition = {
  user: 'ec2-user',
  keyFile: '~/.ssh/id_ed25519',
  port: 22,
  address: 'public',
  prefix: '',
  init: 'auto',
  waitTimeout: 180_000,
};

export const ec2SshSchema = z
  .strictObject({
    user: sshUserField.optional(),
    keyFile: z.string().min(1).optional(),
    port: sshPortField.optional(),
    address: z.enum(['public', 'private']).optional(),
    prefix: installPrefixField.optional(),
    init: sshInitField.optional(),
    waitTimeout: durationMsField(1000),
  })
  .transform(
    (s): Ec2SshDefinition => ({
      user: s.user ?? EC2_SSH_DEFAULTS.user,
      keyFile: s.keyFile ?? EC2_SSH_DEFAULTS.keyFile,
      port: s.port ?? EC2_SSH_DEFAULTS.port,
      address: s.address ?? EC2_SSH_DEFAULTS.address,
      prefix: (s.prefix ?? EC2_SSH_DEFAULTS.prefix).replace(/\/+$/, ''),
      init: s.init ?? EC2_SSH_DEFAULTS.init,
      waitTimeout: s.waitTimeout ?? EC2_SSH_DEFAULTS.waitTimeout,
    }),
  );
