import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject, randomFillSync } from 'node:crypto';
import type { ICryptoInterface } from '@chainsafe/libp2p-noise';
import { defaultCrypto, nodeCrypto } from '@chainsafe/libp2p-noise/crypto';

/**
 * Our X25519 private keys (the static key and each handshake's ephemeral key) as the KeyObjects
 * they were generated as, by the bytes noise holds them as. Noise's default crypto re-imports the
 * private key from PKCS#8 DER for every Diffie-Hellman (3 per handshake on each side) and the
 * peer's public key from SPKI DER; OpenSSL's DER decoders made that 7 ms of CPU per handshake side
 * (micro-benchmark, quiet machine: DER private import 1.6 ms, public 0.36 ms, the DH itself
 * 0.14 ms). Weak: an ephemeral key goes with its handshake.
 */
const generated = new WeakMap<Uint8Array, KeyObject>();

/** A PKCS#8 X25519 private key is these 16 bytes, then the 32 raw ones (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * Noise's node crypto with X25519 keys kept as KeyObjects and the peer's public key imported as a
 * JWK (noise's `crypto` option; the cipher, hash and HKDF are noise's own). The handshake and what
 * goes on the wire are unchanged: noise sees the raw 32-byte keys, as before.
 *
 * A key pair is not made by generateKeyPairSync: on Node 20 (20.20.2 here) exporting a KeyObject
 * holds that key's mutex while it allocates the result, the allocation may run a GC, and the GC
 * finalizes the finished key-generation job, whose destructor takes the same mutex — the main
 * thread waits on itself for good (gdb: KeyObjectHandle::ExportJWK → GC →
 * ~KeyGenJob<NidKeyPairGenTraits> → pthread_mutex_lock). A loop of generateKeyPairSync('x25519')
 * and export() hung within 500 ms every time; agents hung this way at 0 % CPU, deaf to SIGTERM, in
 * pools of 50 (the "wedged" agents of BENCHMARKS.md sessions 14–18). Random bytes imported as
 * PKCS#8 make no job at all (100,000 in a row, 0.37 ms each with both exports).
 */
export const noiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  // ChaCha20-Poly1305 by node:crypto (OpenSSL) at every size. Noise's default seals frames under
  // 1,200 bytes, which is nearly all of an idle agent's, with its WebAssembly cipher
  // (@chainsafe/as-chacha20poly1305): compiling and tiering that module up pages V8's WebAssembly
  // and optimizing compilers into every agent, and its instance keeps its own memory — about 5 MB
  // of an idle follower's RSS (BENCHMARKS.md, session 20, "noise without WebAssembly"). OpenSSL
  // costs ~10–20 µs more per small frame (a few frames a second at idle). The bytes on the wire
  // are the same, so agents of either kind talk. The artifact leaves the WebAssembly modules out
  // (scripts/no-wasm-crypto.mjs); noise's SHA-256 is node:crypto's already.
  chaCha20Poly1305Encrypt: nodeCrypto.chaCha20Poly1305Encrypt,
  chaCha20Poly1305Decrypt: nodeCrypto.chaCha20Poly1305Decrypt,
  generateX25519KeyPair() {
    const raw = randomFillSync(new Uint8Array(32));
    const privateKey = createPrivateKey({
      key: Buffer.concat([X25519_PKCS8_PREFIX, raw]),
      format: 'der',
      type: 'pkcs8',
    });
    generated.set(raw, privateKey);
    return { publicKey: base64url(createPublicKey(privateKey).export({ format: 'jwk' }).x), privateKey: raw };
  },
  generateX25519SharedKey(privateKey, publicKey) {
    const own = privateKey instanceof Uint8Array ? generated.get(privateKey) : undefined;
    if (own === undefined) return defaultCrypto.generateX25519SharedKey(privateKey, publicKey);
    const x = Buffer.from(publicKey instanceof Uint8Array ? publicKey : publicKey.subarray()).toString('base64url');
    const theirs = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
    return diffieHellman({ privateKey: own, publicKey: theirs });
  },
};

function base64url(s: string | undefined): Uint8Array {
  const bytes = Buffer.from(s ?? '', 'base64url');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
