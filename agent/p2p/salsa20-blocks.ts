/**
 * Salsa20/20 keystream blocks, written for V8's interpreter: agents run with `--no-opt`
 * (shared/agent-node-flags.ts), so JavaScript is never compiled to machine code, and every
 * function call and array access of a cipher core costs an interpreted bytecode dispatch.
 * @noble/ciphers' core (a call of `rotl` per quarter-round step, the state in arrays) is written
 * for an optimizing JIT; here the 16 state words are locals and each rotation is inline. Same
 * keystream byte for byte (test/pool-key-cipher.test.ts compares it with the xsalsa20 package).
 *
 * Little-endian hosts only (the words are written through a Uint32Array view): LITTLE_ENDIAN says
 * whether this one is; elsewhere the caller keeps @noble/ciphers.
 */

export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** "expand 32-byte k" as little-endian words. */
const S0 = 0x61707865;
const S1 = 0x3320646e;
const S2 = 0x79622d32;
const S3 = 0x6b206574;

/**
 * Writes `blocks` keystream blocks (16 words each) of Salsa20 under the 8-word `key` and the
 * 2-word `nonce`, from 32-bit block counter `counter` on, into out[0 .. 16 × blocks).
 */
export function salsa20Blocks(
  key: Uint32Array,
  nonce: Uint32Array,
  counter: number,
  blocks: number,
  out: Uint32Array,
): void {
  const j1 = key[0]! | 0;
  const j2 = key[1]! | 0;
  const j3 = key[2]! | 0;
  const j4 = key[3]! | 0;
  const j11 = key[4]! | 0;
  const j12 = key[5]! | 0;
  const j13 = key[6]! | 0;
  const j14 = key[7]! | 0;
  const j6 = nonce[0]! | 0;
  const j7 = nonce[1]! | 0;
  for (let b = 0, o = 0; b < blocks; b++, o += 16) {
    const j8 = (counter + b) | 0;
    let x0 = S0;
    let x1 = j1;
    let x2 = j2;
    let x3 = j3;
    let x4 = j4;
    let x5 = S1;
    let x6 = j6;
    let x7 = j7;
    let x8 = j8;
    let x9 = 0;
    let x10 = S2;
    let x11 = j11;
    let x12 = j12;
    let x13 = j13;
    let x14 = j14;
    let x15 = S3;
    let t = 0;
    for (let r = 0; r < 10; r++) {
      // Unrolled on purpose (same-shape lines): a quarter-round helper is a call per step in the interpreter.
      // Column round.
      t = (x0 + x12) | 0;
      x4 ^= (t << 7) | (t >>> 25);
      t = (x4 + x0) | 0;
      x8 ^= (t << 9) | (t >>> 23);
      t = (x8 + x4) | 0;
      x12 ^= (t << 13) | (t >>> 19);
      t = (x12 + x8) | 0;
      x0 ^= (t << 18) | (t >>> 14);
      t = (x5 + x1) | 0;
      x9 ^= (t << 7) | (t >>> 25);
      t = (x9 + x5) | 0;
      x13 ^= (t << 9) | (t >>> 23);
      t = (x13 + x9) | 0;
      x1 ^= (t << 13) | (t >>> 19);
      t = (x1 + x13) | 0;
      x5 ^= (t << 18) | (t >>> 14);
      t = (x10 + x6) | 0;
      x14 ^= (t << 7) | (t >>> 25);
      t = (x14 + x10) | 0;
      x2 ^= (t << 9) | (t >>> 23);
      t = (x2 + x14) | 0;
      x6 ^= (t << 13) | (t >>> 19);
      t = (x6 + x2) | 0;
      x10 ^= (t << 18) | (t >>> 14);
      t = (x15 + x11) | 0;
      x3 ^= (t << 7) | (t >>> 25);
      t = (x3 + x15) | 0;
      x7 ^= (t << 9) | (t >>> 23);
      t = (x7 + x3) | 0;
      x11 ^= (t << 13) | (t >>> 19);
      t = (x11 + x7) | 0;
      x15 ^= (t << 18) | (t >>> 14);
      // Row round.
      t = (x0 + x3) | 0;
      x1 ^= (t << 7) | (t >>> 25);
      t = (x1 + x0) | 0;
      x2 ^= (t << 9) | (t >>> 23);
      t = (x2 + x1) | 0;
      x3 ^= (t << 13) | (t >>> 19);
      t = (x3 + x2) | 0;
      x0 ^= (t << 18) | (t >>> 14);
      t = (x5 + x4) | 0;
      x6 ^= (t << 7) | (t >>> 25);
      t = (x6 + x5) | 0;
      x7 ^= (t << 9) | (t >>> 23);
      t = (x7 + x6) | 0;
      x4 ^= (t << 13) | (t >>> 19);
      t = (x4 + x7) | 0;
      x5 ^= (t << 18) | (t >>> 14);
      t = (x10 + x9) | 0;
      x11 ^= (t << 7) | (t >>> 25);
      t = (x11 + x10) | 0;
      x8 ^= (t << 9) | (t >>> 23);
      t = (x8 + x11) | 0;
      x9 ^= (t << 13) | (t >>> 19);
      t = (x9 + x8) | 0;
      x10 ^= (t << 18) | (t >>> 14);
      t = (x15 + x14) | 0;
      x12 ^= (t << 7) | (t >>> 25);
      t = (x12 + x15) | 0;
      x13 ^= (t << 9) | (t >>> 23);
      t = (x13 + x12) | 0;
      x14 ^= (t << 13) | (t >>> 19);
      t = (x14 + x13) | 0;
      x15 ^= (t << 18) | (t >>> 14);
    }
    out[o] = x0 + S0;
    out[o + 1] = x1 + j1;
    out[o + 2] = x2 + j2;
    out[o + 3] = x3 + j3;
    out[o + 4] = x4 + j4;
    out[o + 5] = x5 + S1;
    out[o + 6] = x6 + j6;
    out[o + 7] = x7 + j7;
    out[o + 8] = x8 + j8;
    out[o + 9] = x9;
    out[o + 10] = x10 + S2;
    out[o + 11] = x11 + j11;
    out[o + 12] = x12 + j12;
    out[o + 13] = x13 + j13;
    out[o + 14] = x14 + j14;
    out[o + 15] = x15 + S3;
  }
}
