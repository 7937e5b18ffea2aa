import type * as z from 'zod';
import type { SshHostInput, sshUsingSchema } from './ssh-schema.ts';

/**
 * What a user writes for a cloud of static SSH hosts (`using: ssh({...})` in clouds.ts): the
 * input type of the schema in ssh-schema.ts, where each field is documented with its default.
 * This file only imports types, so the package's public entry stays free of zod.
 */

export type { SshHostInput };
export type SshOptions = Omit<z.input<typeof sshUsingSchema>, 'provider'>;
export type SshUsing = SshOptions & { provider: 'ssh' };

/** Static SSH hosts: the CLI provisions the agent over SSH (artifact + config + systemd unit). */
export function ssh(opts: SshOptions): SshUsing {
  return { provider: 'ssh', ...opts };
}
