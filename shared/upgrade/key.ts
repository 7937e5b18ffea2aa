import { join } from 'node:path';
import { type Ed25519Key, ensureEd25519Key, readEd25519Key } from '../ed25519-key.ts';

/**
 * The pool's upgrade key: it signs artifact manifests (manifest.ts). The private half stays in
 * the pool's state dir on the laptop; agents get the public half in their config (`upgrade`).
 * A node never holds the private key, so a compromised node cannot make the pool run its code.
 */

/** `<stateDir>/upgrade.key`: PKCS#8 PEM, 0600, created once per state dir. */
export function upgradeKeyFile(stateDir: string): string {
  return join(stateDir, 'upgrade.key');
}

export class UpgradeKeyError extends Error {
  override name = 'UpgradeKeyError';
}

const keyError = (message: string) => new UpgradeKeyError(message);

/** The state dir's upgrade key, created if missing (the first launch of a pool creates it). */
export function ensureUpgradeKey(stateDir: string): Promise<Ed25519Key> {
  return ensureEd25519Key(upgradeKeyFile(stateDir), keyError);
}

/** The state dir's upgrade key; an error naming the file when the pool has none. */
export async function readUpgradeKey(stateDir: string): Promise<Ed25519Key> {
  const file = upgradeKeyFile(stateDir);
  const key = await readEd25519Key(file, keyError);
  if (!key)
    throw new UpgradeKeyError(
      `${file} does not exist: this pool's agents were started without an upgrade key (bootstrap it again to upgrade it)`,
    );
  return key;
}
