import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

export interface LauncherKey {
  privateKey: KeyObject;
  /** SPKI PEM, as agents are configured with it. */
  publicKeyPem: string;
}

export class LauncherKeyError extends Error {
  override name = 'LauncherKeyError';
}

/** The state dir's launcher key, created if missing (atomically: a concurrent creator's key wins). */
export async function ensureLauncherKey(stateDir: string): Promise<LauncherKey> {
  const file = launcherKeyFile(stateDir);
  const existing = await readLauncherKey(file);
  if (existing) return existing;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // Written whole under another name, then linked: a reader never sees half a key, and link
  // fails if another launcher got there first.
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, pem, { mode: 0o600 });
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  const key = await readLauncherKey(file);
  if (!key) throw new LauncherKeyError(`${file} vanished while it was created`);
  return key;
}

async function readLauncherKey(file: string): Promise<LauncherKey | undefined> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LauncherKeyError(`cannot read the launcher key ${file}: ${(err as Error).message}`);
  }
  try {
    const privateKey = createPrivateKey(pem);
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('not an ed25519 key');
    const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
    return { privateKey, publicKeyPem };
  } catch (err) {
    throw new LauncherKeyError(`${file} is not an ed25519 private key: ${(err as Error).message}`);
  }
}

/** A certificate for one agent: the document and its base64 ed25519 signature. */
export function mintCertificate(key: LauncherKey, claims: CertificateClaims): IdentityEvidence {
  const document = certificateDocument(claims);
  return { document, signature: sign(null, Buffer.from(document, 'utf8'), key.privateKey).toString('base64') };
}

/**
 * The config with its launcher block: the public key, the pool's clouds by provider (so the agent
 * knows which members must show a certificate, and that a cloud it does not list does not
 * exist), and the agent's own certificate for its instance and peer id.
 */
export function withCertificate(
  config: AgentConfig,
  key: LauncherKey,
  clouds: Record<string, string>,
  peerId: string,
  now = Date.now(),
): AgentConfig {
  const certificate = mintCertificate(key, {
    pool: config.pool,
    cloud: config.cloud,
    instanceId: config.instanceId,
    peerId,
    issuedAt: now,
  });
  return { ...config, launcher: { publicKey: key.publicKeyPem, clouds: { ...clouds }, certificate } };
}
