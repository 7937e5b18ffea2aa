import * as z from 'zod';
import { SSH_DEFAULTS } from '../config/ssh-schema.ts';

/**
 * Every timeout of provisioning a host over SSH, in one place with its unit and default: the
 * connection's (ssh-session.ts) and provisioning's own (provision.ts). Types are the schemas'
 * outputs and the defaults tables the schemas parsed from nothing, so a default is written once.
 */

const ms = z.number().int().min(0);

export const sshTimeoutsSchema = z.strictObject({
  /**
   * Total time to wait for the host to answer SSH, across attempts (ms). Default: a cloud's own
   * default `waitTimeout` (60000, shared/config/ssh-schema.ts), which a cloud's setting overrides.
   */
  waitTimeout: ms.default(SSH_DEFAULTS.waitTimeout),
  /** One step of one attempt: TCP connect, banner, handshake+auth (ms). Default 10000. */
  attemptTimeout: ms.default(10_000),
  /** Pause between attempts (ms). Default 1000. */
  retryInterval: ms.default(1000),
  /** One remote command (ms). Default 120000: uploading and starting an agent on a slow host. */
  commandTimeout: ms.default(120_000),
});
export type SshTimeouts = z.output<typeof sshTimeoutsSchema>;
export const SSH_TIMEOUT_DEFAULTS: Readonly<SshTimeouts> = Object.freeze(sshTimeoutsSchema.parse({}));

/** Provisioning's own timeouts, beside the connection's. */
export const provisionOnlyTimeoutsSchema = z.strictObject({
  /** How long the started agent has to answer /health (ms). Default 30000. */
  healthTimeout: ms.default(30_000),
  /** How long an old agent has to exit after SIGTERM before SIGKILL (ms). Default 15000. */
  stopGrace: ms.default(15_000),
});
export const PROVISION_TIMEOUT_DEFAULTS: Readonly<z.output<typeof provisionOnlyTimeoutsSchema>> = Object.freeze(
  provisionOnlyTimeoutsSchema.parse({}),
);

/** Every timeout a provisioning takes: the connection's and its own. */
export type ProvisionTimeouts = SshTimeouts & z.output<typeof provisionOnlyTimeoutsSchema>;
