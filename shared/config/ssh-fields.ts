import * as z from 'zod';
import { parseDuration } from '../duration.ts';

/**
 * Fields that static SSH hosts (ssh-schema.ts) and EC2's optional `ssh` section
 * (ec2-ssh-schema.ts) validate alike, so one rule decides what a login user or a prefix may be.
 */

export const sshPortField = z.number().int().min(1).max(65535);

/** A POSIX login name; it is passed to sshd and sudo, never to a shell unquoted. */
export const sshUserField = z.string().regex(/^[a-z_][a-z0-9_.-]*\$?$/i, { error: 'invalid user name' });

export const sshInitField = z.enum(['systemd', 'none', 'auto']);

/** Prefixes end up in shell scripts (quoted) and systemd units (unquoted): keep them plain. */
export const installPrefixField = z
  .string()
  .regex(/^(\/[A-Za-z0-9_.@+-]+)*\/?$/, { error: 'prefix must be an absolute path of plain characters, or empty' });

/** A duration in ms or as text ('90s', '3m'), at least `minMs`; parsed to ms. */
export function durationMsField(minMs = 0) {
  const min = minMs % 1000 === 0 ? `${minMs / 1000}s` : `${minMs}ms`;
  return z
    .union([z.number(), z.string()])
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      try {
        const ms = parseDuration(v);
        if (ms >= minMs) return ms;
        ctx.addIssue({ code: 'custom', message: `must be at least ${min}, got ${JSON.stringify(v)}` });
        return z.NEVER;
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    });
}
