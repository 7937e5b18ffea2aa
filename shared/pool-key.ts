import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The pool key is a libp2p pre-shared key (pnet "swarm key" v1 format): every connection between
 * agents is encrypted with it before anything else happens, so a process without it cannot even
 * complete a handshake. Generated once by the CLI, kept 0600 in the pool's state dir.
 */
const HEADER = '/key/swarm/psk/1.0.0/\n/base16/\n';

export class PoolKeyError extends Error {
  override name = 'PoolKeyError';
}

export function generatePoolKey(): Uint8Array {
  return new TextEncoder().encode(`${HEADER}${randomBytes(32).toString('hex')}`);
}

/** Checks the format so a corrupt key fails with a clear line, not deep inside libp2p. */
export function parsePoolKey(bytes: Uint8Array, source = 'pool key'): Uint8Array {
  const text = new TextDecoder().decode(bytes).trim();
  const lines = text.split('\n');
  if (lines.length !== 3 || lines[0] !== '/key/swarm/psk/1.0.0/' || lines[1] !== '/base16/') {
    throw new PoolKeyError(`${source}: not a libp2p swarm key (expected /key/swarm/psk/1.0.0/ header)`);
  }
  if (!/^[0-9a-f]{64}$/i.test(lines[2] as string)) {
    throw new PoolKeyError(`${source}: key must be 64 hex characters`);
  }
  return new TextEncoder().encode(text);
}

export async function readPoolKey(file: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new PoolKeyError(`cannot read pool key ${file}: ${(err as Error).message}`);
  }
  return parsePoolKey(bytes, file);
}

/** Returns the key at `file`, creating it (0600, parent 0700) if missing. */
export async function ensurePoolKey(file: string): Promise<{ key: Uint8Array; created: boolean }> {
  try {
    return { key: await readPoolKey(file), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException & Error).message.includes('ENOENT')) {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const key = generatePoolKey();
      try {
        await writeFile(file, key, { mode: 0o600, flag: 'wx' });
      } catch (writeErr) {
        // Another process created it between our read and write: use theirs.
        if ((writeErr as NodeJS.ErrnoException).code === 'EEXIST')
          return { key: await readPoolKey(file), created: false };
        throw writeErr;
      }
      await chmod(file, 0o600);
      return { key, created: true };
    }
    throw err;
  }
}
