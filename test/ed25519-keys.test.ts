import { randomBytes } from 'node:crypto';
import { generateKeyPair, publicKeyFromRaw } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { installKeyObjectVerify, keyObjectSigner, publicKeyObject } from '../agent/p2p/ed25519-keys.ts';

/**
 * Ed25519 with KeyObjects imported once (agent/p2p/ed25519-keys.ts): the same signatures as
 * @libp2p/crypto's own, and the same verdicts on every signature, good or not. The verify patch is
 * process-wide; vitest runs each file in its own module graph, so other files keep the original.
 */

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ed = () => generateKeyPair('Ed25519');
/** What libp2p passes besides plain bytes (a Uint8ArrayList): something whose subarray() is the bytes. */
const listOf = (...parts: Uint8Array[]) => ({ subarray: () => Buffer.concat(parts) }) as unknown as Uint8Array;

describe('keyObjectSigner', () => {
  it('signs exactly as the key it wraps (Ed25519 is deterministic), plain bytes and lists alike', async () => {
    const key = await ed();
    const fast = keyObjectSigner(key);
    for (let i = 0; i < 50; i++) {
      const msg = randomBytes(i * 7);
      expect(hex(await fast.sign(msg))).toBe(hex(await key.sign(msg)));
      const list = listOf(msg.subarray(0, i), msg.subarray(i));
      expect(hex(await fast.sign(list))).toBe(hex(await key.sign(msg)));
    }
  });

  it('is the same key otherwise: type, raw bytes, public key, peer id, equality, class', async () => {
    const key = await ed();
    const fast = keyObjectSigner(key);
    expect(fast.type).toBe('Ed25519');
    expect(hex(fast.raw)).toBe(hex(key.raw));
    expect(fast.publicKey.equals(key.publicKey)).toBe(true);
    expect(peerIdFromPrivateKey(fast).toString()).toBe(peerIdFromPrivateKey(key).toString());
    expect(fast.equals(key)).toBe(true);
    expect(Object.getPrototypeOf(fast)).toBe(Object.getPrototypeOf(key));
  });

  it('refuses an aborted signal as the original does', async () => {
    const fast = keyObjectSigner(await ed());
    expect(() => fast.sign(randomBytes(8), { signal: AbortSignal.abort() })).toThrow();
  });

  it('leaves keys of other types as they are', async () => {
    const other: PrivateKey = await generateKeyPair('secp256k1');
    expect(keyObjectSigner(other)).toBe(other);
  });
});

describe('installKeyObjectVerify', () => {
  it('gives the original verdict on good, altered and foreign signatures; throws on a wrong length', async () => {
    const keys = await Promise.all([ed(), ed(), ed()]);
    const cases: Array<[Uint8Array, Uint8Array, Uint8Array]> = [];
    for (let i = 0; i < 60; i++) {
      const signer = keys[i % 3] as PrivateKey;
      const checker = keys[(i % 5 === 0 ? i + 1 : i) % 3] as PrivateKey; // every fifth: another key
      const msg = randomBytes(1 + i * 5);
      const sig = new Uint8Array(await signer.sign(msg));
      if (i % 4 === 1) sig[i % 64] = (sig[i % 64] as number) ^ 1; // a bit flipped in the signature
      const data = i % 4 === 2 ? Buffer.concat([msg, Buffer.from([0])]) : msg; // or in the message
      cases.push([checker.publicKey.raw, data, sig]);
    }
    const before = await Promise.all(cases.map(([raw, data, sig]) => publicKeyFromRaw(raw).verify(data, sig)));
    expect(before.filter(Boolean).length).toBeGreaterThan(10);
    expect(before.filter((v) => !v).length).toBeGreaterThan(10);
    installKeyObjectVerify();
    installKeyObjectVerify(); // idempotent
    const after = cases.map(([raw, data, sig]) => publicKeyFromRaw(raw).verify(data, sig));
    expect(after).toEqual(before);
    const [raw, data, sig] = cases[0] as [Uint8Array, Uint8Array, Uint8Array];
    expect(() => publicKeyFromRaw(raw).verify(data, sig.subarray(0, 63))).toThrow(TypeError);
    expect(() => publicKeyFromRaw(raw).verify(data, sig, { signal: AbortSignal.abort() })).toThrow();
    const list = listOf(data.subarray(0, 1), data.subarray(1));
    expect(publicKeyFromRaw(raw).verify(list, sig)).toBe(before[0]);
  });

  it('checks with the key a peer id carries (as gossipsub does) and imports each key once', async () => {
    installKeyObjectVerify();
    const key = await ed();
    const msg = randomBytes(100);
    const sig = await key.sign(msg);
    const pub = peerIdFromString(peerIdFromPrivateKey(key).toString()).publicKey;
    expect(await pub?.verify(msg, sig)).toBe(true);
    expect(publicKeyObject(key.publicKey.raw)).toBe(publicKeyObject(new Uint8Array(key.publicKey.raw)));
  });
});
