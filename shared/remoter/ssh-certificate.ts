import { sign } from 'node:crypto';
import { join } from 'node:path';
import { SSH_DEFAULTS } from '../config/ssh-schema.ts';
import { type Ed25519Key, ensureEd25519Key } from '../ed25519-key.ts';
import type { AgentConfig } from '../wire/agent-config.ts';
import type { IdentityEvidence } from '../wire/heartbeat.ts';
import { type CertificateClaims, certificateDocument } from '../wire/launcher-certificate.ts';

/**
 * The launcher key and the certificates it signs (ARCHITECTURE.md, "Binding"). Only the machine
 * holding the pool's state dir — the laptop that runs the CLI — has the private key: an ssh
 * cloud is provisioned by the CLI alone (ssh agents get no scaling block), so no node ever needs
 * to mint a certificate, and a compromised node cannot mint one.
 */

/** `<stateDir>/launcher.key`: PKCS#8 PEM, 0600, created once per state dir. */
export function launcherKeyFile(stateDir: string): string {
  return join(stateDir, 'launcher.key');
}

export type LauncherKey = Ed25519Key;

export class LauncherKeyError extends Error {
  override name = 'LauncherKeyError';
}

/** The state dir's launcher key, created if missing (atomically: a concurrent creator's key wins). */
export function ensureLauncherKey(stateDir: string): Promise<LauncherKey> {
  return ensureEd25519Key(launcherKeyFile(stateDir), (message) => new LauncherKeyError(message));
}

/** A certificate for one agent: the document and its base64 ed25519 signature. */
export function mintCertificate(key: LauncherKey, claims: CertificateClaims): IdentityEvidence {
  const document = certificateDocument(claims);
  return { document, signature: sign(null, Buffer.from(document, 'utf8'), key.privateKey).toString('base64') };
}

/**
 * The config with its launcher block: the public key, the pool's clouds by provider (so the agent
 * knows which members must show a certificate, and that a cloud it does not list does not
 * exist), and the agent's own certificate for its instance and peer id, valid from `now` for
 * `validity` ms (the cloud's `certificateValidity`).
 */
export function withCertificate(
  config: AgentConfig,
  key: LauncherKey,
  clouds: Record<string, string>,
  peerId: string,
  now = Date.now(),
  validity: number = SSH_DEFAULTS.certificateValidity,
): AgentConfig {
  const certificate = mintCertificate(key, {
    pool: config.pool,
    cloud: config.cloud,
    instanceId: config.instanceId,
    peerId,
    issuedAt: now,
    expiresAt: now + validity,
  });
  return { ...config, launcher: { publicKey: key.publicKeyPem, clouds: { ...clouds }, certificate } };
}
