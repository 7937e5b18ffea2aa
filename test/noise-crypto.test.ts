import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { asCrypto, defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import { multiaddr } from '@multiformats/multiaddr';
import { afterEach, describe, expect, it } from 'vitest';
import type { PoolNode } from '../agent/p2p/node.ts';
import { noiseCrypto } from '../agent/p2p/noise-crypto.ts';
// @ts-expect-error: a plain .mjs module of the build, without type declarations
import * as noWasm from '../scripts/no-wasm-crypto.mjs';
import { generatePoolKey } from '../shared/pool-key.ts';
import { waitFor } from './fixtures/wait.ts';
import { startPoolNode } from './helpers/pool-node.ts';

/**
 * The agent's noise crypto keeps X25519 keys as KeyObjects instead of re-importing them from DER
 * for every Diffie-Hellman: the same keys and secrets as noise's default, so agents with and
 * without it shake hands.
 */

const hex = (b: Uint8Array | { subarray(): Uint8Array }) =>
  Buffer.from(b instanceof Uint8Array ? b : b.subarray()).toString('hex');

describe('noise crypto with KeyObjects', () => {
  it('makes key pairs in a row without hanging the process (Node 20: export of a generated KeyObject deadlocked in a GC)', async () => {
    // generateKeyPairSync + export hung within 500 ms in every try; 20,000 pairs take ~8 s here.
    const n = 20_000;
    const out = await new Promise<string>((res) => {
      execFile(
        process.execPath,
        ['--max-semi-space-size=1', '--import', 'tsx', resolve('test/fixtures/noise-keygen-loop.ts'), String(n)],
        { timeout: 90_000, killSignal: 'SIGKILL' },
        (err, stdout) => res(err ? `failed: ${err.message} (killed: ${err.killed})` : stdout.trim()),
      );
    });
    expect(out).toBe(`done ${n}`);
  }, 120_000);

  it('a key pair whose public key is the one noise derives from its private key', () => {
    for (let i = 0; i < 20; i++) {
      const kp = noiseCrypto.generateX25519KeyPair();
      expect(kp.privateKey).toHaveLength(32);
      expect(hex(kp.publicKey)).toBe(hex(defaultCrypto.generateX25519KeyPairFromSeed(kp.privateKey).publicKey));
    }
  });

  it("the same shared secret as noise's default, from either side, also for keys it did not generate", () => {
    for (let i = 0; i < 20; i++) {
      const ours = noiseCrypto.generateX25519KeyPair();
      const theirs = defaultCrypto.generateX25519KeyPair();
      const secret = hex(noiseCrypto.generateX25519SharedKey(ours.privateKey, theirs.publicKey));
      expect(secret).toBe(hex(defaultCrypto.generateX25519SharedKey(ours.privateKey, theirs.publicKey)));
      expect(secret).toBe(hex(defaultCrypto.generateX25519SharedKey(theirs.privateKey, ours.publicKey)));
      expect(hex(noiseCrypto.generateX25519SharedKey(theirs.privateKey, ours.publicKey))).toBe(secret);
      // A copy of our key's bytes (not the array noise got) falls back to the DER import.
      expect(hex(noiseCrypto.generateX25519SharedKey(Uint8Array.from(ours.privateKey), theirs.publicKey))).toBe(secret);
    }
  });
});

describe('the cipher by node:crypto at every size (no WebAssembly in the artifact)', () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
  const nonce = Uint8Array.from({ length: 12 }, (_, i) => 200 - i);
  const ad = Uint8Array.from([1, 2, 3]);
  // Around the 1,200 bytes under which noise's default used its WebAssembly cipher.
  const sizes = [0, 1, 15, 16, 17, 63, 180, 1199, 1200, 1201, 4096];

  it("seals every size as noise's WebAssembly cipher does, and each opens what the other sealed", () => {
    for (const size of sizes) {
      const plain = Uint8Array.from({ length: size }, (_, i) => (i * 31 + size) & 0xff);
      const ours = noiseCrypto.chaCha20Poly1305Encrypt(plain, nonce, ad, key);
      const wasm = asCrypto.chaCha20Poly1305Encrypt(plain, nonce, ad, key);
      expect(hex(ours)).toBe(hex(wasm));
      const sealed = Uint8Array.from(Buffer.from(hex(wasm), 'hex'));
      expect(hex(noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, key))).toBe(hex(plain));
      expect(hex(asCrypto.chaCha20Poly1305Decrypt(Uint8Array.from(sealed), nonce, ad, key))).toBe(hex(plain));
    }
  });

  it('rejects a frame whose tag does not match', () => {
    const sealed = Uint8Array.from(
      Buffer.from(hex(noiseCrypto.chaCha20Poly1305Encrypt(new Uint8Array(40), nonce, ad, key)), 'hex'),
    );
    sealed[3] = (sealed[3] ?? 0) ^ 1;
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, key)).toThrow();
  });

  it("the artifact's stand-in for the WebAssembly modules loads as noise loads them, and fails loudly if used", () => {
    const cipher = new noWasm.ChaCha20Poly1305(noWasm.newInstance());
    expect(() => cipher.seal(key, nonce, new Uint8Array(1), ad)).toThrow(noWasm.NoWasmCryptoError);
    expect(() => cipher.open(key, nonce, new Uint8Array(17), ad)).toThrow(noWasm.NoWasmCryptoError);
    expect(() => noWasm.digest(new Uint8Array(1))).toThrow(noWasm.NoWasmCryptoError);
  });
});

describe('pool nodes with it', () => {
  const nodes: PoolNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it('shake hands', async () => {
    const key = generatePoolKey();
    const [a, b] = [await startPoolNode(key), await startPoolNode(key)];
    nodes.push(a, b);
    const conn = await a.dial(multiaddr(b.getMultiaddrs()[0]!.toString()), { signal: AbortSignal.timeout(15_000) });
    expect(conn.remotePeer.toString()).toBe(b.peerId.toString());
    await waitFor('the responder to hold the connection', () => b.getConnections(a.peerId).length > 0);
  }, 30_000);
});
