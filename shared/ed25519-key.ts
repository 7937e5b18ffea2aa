import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * An ed25519 signing key kept as a PKCS#8 PEM file (0600) in a pool's state dir on the laptop:
 * the launcher key (ssh certificates) and the upgrade key (artifact manifests) are both this.
 */
export interface Ed25519Key {
  privateKey: KeyObject;
  /** SPKI PEM, as agents are configured with it. */
  publicKeyPem: string;
}

/** Makes the error a caller's own kind (LauncherKeyError, UpgradeKeyError), matched by name. */
export type KeyErrorFactory = (message: string) => Error;

/** The key in `file`, created if missing (atomically: a concurrent creator's key wins). */
export async function ensureEd25519Key(file: string, error: KeyErrorFactory): Promise<Ed25519Key> {
  const existing = await readEd25519Key(file, error);
  if (existing) return existing;
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  // Encoded inside the key-generation job: exporting the generated KeyObject can deadlock Node 20
  // (agent/p2p/noise-crypto.ts says how).
  const pem = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;
  // Written whole under another name, then linked: a reader never sees half a key, and link
  // fails if another creator got there first.
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, pem, { mode: 0o600 });
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  const key = await readEd25519Key(file, error);
  if (!key) throw error(`${file} vanished while it was created`);
  return key;
}

/** The key in `file`, or undefined when there is no such file. */
export async function readEd25519Key(file: string, error: KeyErrorFactory): Promise<Ed25519Key | undefined> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error(`cannot read the key ${file}: ${(err as Error).message}`);
  }
  try {
    const privateKey = createPrivateKey(pem);
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('not an ed25519 key');
    const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
    return { privateKey, publicKeyPem };
  } catch (err) {
    throw error(`${file} is not an ed25519 private key: ${(err as Error).message}`);
  }
}
