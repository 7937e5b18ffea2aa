import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';

/** File name of the agent's persistent Ed25519 key inside its data dir. */
export const PEER_KEY_FILE = 'peer-key';

export class IdentityError extends Error {
  override name = 'IdentityError';
}

/**
 * Loads the agent's Ed25519 key from `dataDir`, creating it (0600) on first start, so a restarted
 * agent keeps its peer id. Launchers may call this before starting an agent to learn its peer id.
 */
export async function ensureIdentity(
  dataDir: string,
): Promise<{ privateKey: PrivateKey; peerId: string; created: boolean }> {
  const file = join(dataDir, PEER_KEY_FILE);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new IdentityError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (bytes) {
    let privateKey: PrivateKey;
    try {
      privateKey = privateKeyFromProtobuf(bytes);
    } catch (err) {
      throw new IdentityError(`${file} is not a libp2p private key: ${(err as Error).message}`);
    }
    return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString(), created: false };
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const privateKey = await generateKeyPair('Ed25519');
  await writeFile(file, privateKeyToProtobuf(privateKey), { mode: 0o600 });
  await chmod(file, 0o600);
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString(), created: true };
}
