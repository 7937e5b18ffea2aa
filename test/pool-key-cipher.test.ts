import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { KeystreamExhaustedError, MAX_BLOCKS, XSalsa20Stream } from '../agent/p2p/pool-key-cipher.ts';

/** The `xsalsa20` package, @libp2p/pnet's cipher: what agents still on pnet put on the wire. */
type PnetCipher = { update(input: Uint8Array): Uint8Array };
const require = createRequire(import.meta.url);
const pnetXsalsa20 = require('xsalsa20') as (nonce: Uint8Array, key: Uint8Array) => PnetCipher;

/** Deterministic bytes (no seedable RNG in node: SHA-256 in counter mode). */
function bytes(n: number, seed: string): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, block = 0; i < n; block++) {
    const h = createHash('sha256').update(`${seed}/${block}`).digest();
    out.set(h.subarray(0, Math.min(32, n - i)), i);
    i += 32;
  }
  return out;
}

const key = bytes(32, 'key');
const nonce = bytes(24, 'nonce');

describe('pool key stream cipher (XSalsa20)', () => {
  it('equals the xsalsa20 package for the same key and nonce over odd chunks crossing 64-byte blocks', () => {
    // Sizes that start and end inside blocks, fill exactly to a boundary, span many blocks, or are empty.
    const sizes = [1, 63, 64, 65, 7, 130, 0, 200, 1, 1000, 3, 64, 128, 5000, 17, 127, 129, 65_537, 31, 33];
    // And around the 1 KiB of keystream each stream generates ahead.
    sizes.push(1023, 1, 1024, 1025, 960, 2047, 64, 4096, 5);
    const ours = new XSalsa20Stream(key, nonce);
    const theirs = pnetXsalsa20(nonce, key);
    let total = 0;
    for (const [i, size] of sizes.entries()) {
      const chunk = bytes(size, `chunk${i}`);
      expect(Buffer.from(ours.update(chunk)).equals(Buffer.from(theirs.update(chunk))), `chunk ${i} (${size} B)`).toBe(
        true,
      );
      total += size;
    }
    expect(ours.position).toBe(total);
  });

  it('reads chunk lists and unaligned views as one run of bytes', () => {
    const data = bytes(3000, 'list');
    const whole = new XSalsa20Stream(key, nonce).update(data);
    // Views at odd offsets of one buffer, as a socket hands them over.
    const list = {
      byteLength: data.byteLength,
      [Symbol.iterator]: () => [5, 100, 2000, 895].map(cut)[Symbol.iterator](),
    };
    let at = 0;
    function cut(len: number): Uint8Array {
      const view = data.subarray(at, at + len);
      at += len;
      return view;
    }
    expect(Buffer.from(new XSalsa20Stream(key, nonce).update(list)).equals(Buffer.from(whole))).toBe(true);
    expect(Buffer.from(pnetXsalsa20(nonce, key).update(data)).equals(Buffer.from(whole))).toBe(true);
  });

  it('the two directions of a connection (two nonces) give different keystreams; a wrong key does not decrypt', () => {
    const plain = bytes(256, 'plain');
    const a = new XSalsa20Stream(key, nonce).update(plain);
    const b = new XSalsa20Stream(key, bytes(24, 'other nonce')).update(plain);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(Buffer.from(new XSalsa20Stream(key, nonce).update(a)).equals(Buffer.from(plain))).toBe(true);
    expect(Buffer.from(new XSalsa20Stream(bytes(32, 'wrong'), nonce).update(a)).equals(Buffer.from(plain))).toBe(false);
  });

  it('refuses keys and nonces of the wrong size', () => {
    expect(() => new XSalsa20Stream(new Uint8Array(16), nonce)).toThrow(RangeError);
    expect(() => new XSalsa20Stream(key, new Uint8Array(8))).toThrow(RangeError);
  });

  it('starts at a given block: block 1 of a fresh stream is the second 64 bytes of the package', () => {
    const data = bytes(200, 'seek');
    const theirs = pnetXsalsa20(nonce, key).update(data);
    const ours = new XSalsa20Stream(key, nonce, 1).update(data.subarray(64));
    expect(Buffer.from(ours).equals(Buffer.from(theirs.subarray(64)))).toBe(true);
  });

  it('throws a named error, never wraps the counter, once a direction has used 2^32 - 1 blocks', () => {
    const s = new XSalsa20Stream(key, nonce, MAX_BLOCKS - 1);
    s.update(new Uint8Array(10)); // generates the last block, keeps 54 bytes of it
    s.update(new Uint8Array(54));
    expect(s.position).toBe(MAX_BLOCKS * 64);
    expect(() => s.update(new Uint8Array(1))).toThrow(KeystreamExhaustedError);
    const last = new XSalsa20Stream(key, nonce, MAX_BLOCKS - 1);
    expect(() => last.update(new Uint8Array(64))).not.toThrow();
    expect(() => last.update(new Uint8Array(1))).toThrow(KeystreamExhaustedError);
    // Straight through the cipher (a write longer than the keystream kept ahead), too.
    expect(() => new XSalsa20Stream(key, nonce, MAX_BLOCKS - 2).update(new Uint8Array(4096))).toThrow(
      KeystreamExhaustedError,
    );
  });
});

/**
 * Issue 13/15: pnet's cipher shares one WASM memory per process; a large write grows it, which
 * detaches every other instance's view, and their next small writes grow it again until the 64 MB
 * cap throws (a 50-agent host died of it at N=200). The same workload through our cipher.
 */
const INSTANCES = 40;
const ROUNDS = 200; // 40 × 200 = 8,000 small writes

describe('many connections, one large write, then thousands of small writes', () => {
  it('pnet cipher (control): the workload kills it with "Maximum memory size exceeded"', () => {
    const script = `
      const X = require('xsalsa20');
      const k = new Uint8Array(32), xs = [];
      for (let i = 0; i < ${INSTANCES}; i++) xs.push(X(new Uint8Array(24).fill(i), k));
      xs[0].update(new Uint8Array(1 << 20));
      for (let r = 0; r < ${ROUNDS}; r++) for (const x of xs) x.update(new Uint8Array(100));
      console.log('survived');`;
    const r = spawnSync(process.execPath, ['-e', script], {
      cwd: process.cwd(),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stdout).not.toContain('survived');
    expect(r.stderr).toContain('Maximum memory size exceeded');
  });

  it('ours: no error, every stream still correct, and memory does not grow', () => {
    const streams = Array.from({ length: INSTANCES }, (_, i) => new XSalsa20Stream(key, bytes(24, `n${i}`)));
    const small = bytes(100, 'small');
    const round = () => {
      for (const s of streams) s.update(small);
    };
    streams[0]?.update(new Uint8Array(1 << 20));
    round(); // warm up before measuring
    const before = process.memoryUsage();
    for (let r = 1; r < ROUNDS; r++) round();
    const after = process.memoryUsage();
    // What is live is fixed per stream (a block of keystream and the counters); the outputs are
    // garbage. Slack covers what the collector has not yet taken; pnet's cipher grows to 64 MB.
    const grown = (m: NodeJS.MemoryUsage) => m.arrayBuffers + m.external + m.heapUsed;
    expect(grown(after) - grown(before)).toBeLessThan(16 * 2 ** 20);

    // Each stream is where a fresh one fed the same bytes would be, so it still interoperates.
    const check = new XSalsa20Stream(key, bytes(24, 'n1'));
    for (let r = 0; r < ROUNDS; r++) check.update(small);
    expect(streams[1]?.position).toBe(check.position);
    const next = bytes(77, 'next');
    expect(Buffer.from(streams[1]?.update(next) ?? []).equals(Buffer.from(check.update(next)))).toBe(true);
  });
});
