import * as z from 'zod';
import { durationMsField, installPrefixField, sshInitField, sshPortField, sshUserField } from './ssh-fields.ts';

/**
 * The optional `ssh` section of `using: ec2({...})`: with it, `poolparty bootstrap` does not rely
 * on user data alone but waits for every instance it launched (and every one already running) to
 * answer SSH and provisions the agent over it, exactly as on static SSH hosts (docs/ssh.md): the
 * laptop's agent artifact, the configuration bundle, the pool key and an agent config for that
 * instance. Nodes themselves never use it: a leader launching more instances relies on user data.
 */

const fields = {
  /**
   * Login user. Default 'ec2-user' (Amazon Linux, RHEL, Fedora); Debian images use 'admin',
   * Ubuntu 'ubuntu'. A user other than root needs passwordless sudo, which those images give the
   * default user.
   */
  user: sshUserField.default('ec2-user'),
  /**
   * The laptop's private key matching the cloud's `keyName` (the key pair EC2 installs for the
   * default user), or any key the image accepts. Unencrypted OpenSSH or PEM. Default
   * '~/.ssh/id_ed25519'. Kept as written; the CLI expands '~' at use.
   */
  keyFile: z.string().min(1).default('~/.ssh/id_ed25519'),
  /** SSH port. Default 22. */
  port: sshPortField.default(22),
  /**
   * Which address the laptop connects to: 'public' (default; an instance without a public address
   * is reached at its private one) or 'private' (the laptop is inside the VPC, or on a VPN into it).
   */
  address: z.enum(['public', 'private']).default('public'),
  /**
   * Install prefix on the instance, as for ssh hosts: files go to <prefix>/opt/poolparty,
   * <prefix>/etc/poolparty, <prefix>/var/lib/poolparty. Default '' (the paths user data uses too,
   * so provisioning replaces what user data installed). For tests. Normalised without a trailing '/'.
   */
  prefix: installPrefixField.default('').transform((p) => p.replace(/\/+$/, '')),
  /**
   * How the agent is kept running: 'auto' (default: systemd when the instance runs it, as every
   * EC2 Linux image does), 'systemd', or 'none' (a detached process, for images without systemd).
   */
  init: sshInitField.default('auto'),
  /**
   * How long bootstrap waits for an instance to be running with its address and to answer SSH
   * (ms or '3m'), from the launch. Default '3m': an instance usually takes 30–90 s to boot sshd.
   */
  waitTimeout: durationMsField(1000).default(180_000),
};

/** The section, defaults applied; plain JSON, it travels in every agent's config. */
export const ec2SshSchema = z.strictObject(fields);

/** What a user writes in clouds.ts: `ec2({ …, ssh: { keyFile: '~/.ssh/ops.pem' } })`. */
export type Ec2SshOptions = z.input<typeof ec2SshSchema>;
/** The normalised section (waitTimeout in ms). */
export type Ec2SshDefinition = z.output<typeof ec2SshSchema>;
export type Ec2SshAddress = Ec2SshDefinition['address'];

/** Every default of the section: the schema's parse of an empty section. */
export const EC2_SSH_DEFAULTS: Readonly<Ec2SshDefinition> = Object.freeze(ec2SshSchema.parse({}));
