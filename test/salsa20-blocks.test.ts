import { createHash } from 'node:crypto';
import { salsa20 } from '@noble/ciphers/salsa.js';
import { describe, expect, it } from 'vitest';
import { LITTLE_ENDIAN, salsa20Blocks } from '../agent/p2p/salsa20-blocks.ts';

/** Deterministic bytes: SHA-256 in counter mode. */
function bytes(n: number, seed: string): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, block = 0; i < n; block++, i += 32) {
    out.set(
      createHash('sha256')
        .update(`${seed}/${block}`)
        .digest()
        .subarray(0, Math.min(32, n - i)),
      i,
    );
  }
  return out;
}

/** @noble/ciphers' Salsa20 keystream: `blocks` blocks from block `counter` on. */
function noble(key: Uint8Array, nonce: Uint8Array, counter: number, blocks: number): Uint8Array {
  const out = new Uint8Array(blocks * 64);
  salsa20(key, nonce, new Uint8Array(blocks * 64), out, counter);
  return out;
}

function ours(key: Uint8Array, nonce: Uint8Array, counter: number, blocks: number): Uint8Array {
  const out = new Uint32Array(blocks * 16);
  salsa20Blocks(new Uint32Array(key.slice().buffer), new Uint32Array(nonce.slice().buffer), counter, blocks, out);
  return new Uint8Array(out.buffer);
}

describe('Salsa20 blocks for the interpreter (salsa20-blocks.ts)', () => {
  it('runs on this host (little-endian), so the pool key cipher uses it', () => {
    expect(LITTLE_ENDIAN).toBe(true);
  });

  it("equals @noble/ciphers' keystream for many keys, nonces and block counters, up to the counter's last value", () => {
    const counters = [0, 1, 15, 16, 1000, 2 ** 31 - 2, 2 ** 31, 2 ** 32 - 17];
    for (let i = 0; i < 24; i++) {
      const key = bytes(32, `key${i}`);
      const nonce = bytes(8, `nonce${i}`);
      const counter = counters[i % counters.length] as number;
      const blocks = 1 + (i % 16);
      expect(
        Buffer.from(ours(key, nonce, counter, blocks)).equals(Buffer.from(noble(key, nonce, counter, blocks))),
        `case ${i}`,
      ).toBe(true);
    }
  });

  it('writes exactly 16 words per block and nothing past them', () => {
    const out = new Uint32Array(48).fill(7);
    salsa20Blocks(new Uint32Array(8), new Uint32Array(2), 0, 2, out);
    expect([...out.subarray(32)].every((w) => w === 7)).toBe(true);
    expect([...out.subarray(0, 32)].some((w) => w !== 7)).toBe(true);
  });
});
