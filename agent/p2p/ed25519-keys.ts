import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { publicKeyFromRaw } from '@libp2p/crypto/keys';
import type { PrivateKey, PublicKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';

/**
 * Ed25519 signatures with the keys held as KeyObjects. @libp2p/crypto 5 (on Node: node:crypto)
 * imports the key from a JWK for every signature it checks and every one it makes
 * (`hashAndVerify`, `hashAndSign`). Every gossipsub message is checked with its sender's key
 * (StrictSign, node.ts) and every publish, noise handshake and load report is signed, so in a join
 * storm at N=100 the import was ~1.6 % of a bench host's busy time beside 8 % for the checks
 * themselves (BENCHMARKS.md session 19 profile; micro-benchmark in session 20's notes: import ~23 µs
 * of a ~170 µs check, ~55 µs of a ~95 µs signature). The algorithm, the bytes signed and what
 * passes are unchanged: node:crypto's Ed25519 with the same key, imported once.
 */

/** Public keys kept (a pool is bounded by maxMembers; peers past it only cost an import again). */
const MAX_KEYS = 4096;
const publicKeys = new Map<string, KeyObject>();

/** The KeyObject of a raw 32-byte Ed25519 public key, imported once while it is kept. */
export function publicKeyObject(raw: Uint8Array): KeyObject {
  const x = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
  let key = publicKeys.get(x);
  if (key === undefined) {
    key = createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x } });
    if (publicKeys.size >= MAX_KEYS) publicKeys.clear();
    publicKeys.set(x, key);
  }
  return key;
}

type Bytes = Uint8Array | { subarray(): Uint8Array };
const bytesOf = (b: Bytes): Uint8Array => (b instanceof Uint8Array ? b : b.subarray());

let installed = false;

/**
 * Makes every Ed25519 public key of @libp2p/crypto in this process check signatures with a kept
 * KeyObject. Gossipsub builds a new key object for every message from the sender's peer id and has
 * no option for its verifier, so the class's `verify` is replaced (once; idempotent). Same
 * contract as the original: true or false for a 64-byte signature, a TypeError for another length
 * (gossipsub counts a throw as an invalid signature), an aborted signal throws.
 */
export function installKeyObjectVerify(): void {
  if (installed) return;
  installed = true;
  const proto = Object.getPrototypeOf(publicKeyFromRaw(new Uint8Array(32))) as PublicKey;
  proto.verify = function verifyWithKeyObject(
    this: { raw: Uint8Array },
    data: Bytes,
    sig: Uint8Array,
    options?: { signal?: AbortSignal },
  ): boolean {
    options?.signal?.throwIfAborted();
    if (!(sig instanceof Uint8Array) || sig.byteLength !== 64) throw new TypeError('"sig" must be 64 bytes in length.');
    return verify(null, bytesOf(data), publicKeyObject(this.raw), sig);
  } as PublicKey['verify'];
}

/**
 * `key` signing with a KeyObject imported once. The result is the same key (its class, raw bytes,
 * public key and peer id) with only `sign` overridden; keys of other types are returned as they are.
 */
export function keyObjectSigner(key: PrivateKey): PrivateKey {
  const signBytes = ed25519Signer(key);
  if (!signBytes) return key;
  const signer = Object.create(Object.getPrototypeOf(key) as object) as PrivateKey;
  return Object.assign(signer, key, {
    sign(message: Bytes, options?: { signal?: AbortSignal }): Uint8Array {
      options?.signal?.throwIfAborted();
      return signBytes(bytesOf(message));
    },
  });
}

/**
 * A synchronous Ed25519 signer of `key` (imported once), for what is signed inside the membership's
 * synchronous paths (a member's own record: membership/record-signatures.ts) and behind
 * keyObjectSigner. Undefined for a key of another type: nothing is signed, as by an agent of the
 * previous release.
 */
export function ed25519Signer(key: PrivateKey): ((bytes: Uint8Array) => Uint8Array) | undefined {
  if (key.type !== 'Ed25519') return undefined;
  const x = Buffer.from(key.publicKey.raw).toString('base64url');
  const d = Buffer.from(key.raw.subarray(0, 32)).toString('base64url');
  const own = createPrivateKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', d, x } });
  return (bytes) => sign(null, bytes, own);
}

/** Each peer id's Ed25519 public key (null: the id carries none), kept like `publicKeys`. */
const peerKeys = new Map<string, KeyObject | null>();

/**
 * Whether `sig` is `peer`'s Ed25519 signature of `bytes`, with the key its peer id carries (parsed
 * and imported once while kept). False for a peer id that carries no Ed25519 key, a signature of
 * another length, or anything node:crypto refuses: a peer's bytes never throw here.
 */
export function verifyByPeerId(peer: string, bytes: Uint8Array, sig: Uint8Array): boolean {
  if (sig.byteLength !== 64) return false;
  let key = peerKeys.get(peer);
  if (key === undefined) {
    try {
      const pub = peerIdFromString(peer).publicKey;
      key = pub?.type === 'Ed25519' ? publicKeyObject(pub.raw) : null;
    } catch {
      key = null;
    }
    if (peerKeys.size >= MAX_KEYS) peerKeys.clear();
    peerKeys.set(peer, key);
  }
  try {
    return key !== null && verify(null, bytes, key, sig);
  } catch {
    return false;
  }
}
