import { hsalsa, salsa20 } from '@noble/ciphers/salsa.js';
import { LITTLE_ENDIAN, salsa20Blocks } from './salsa20-blocks.ts';

/**
 * XSalsa20 as a stream cipher: one direction of a pool-key connection. Every byte written is XORed
 * with the next byte of the keystream of (key, nonce), however the bytes are cut into writes, so
 * the output equals the `xsalsa20` package's (what @libp2p/pnet uses) byte for byte.
 *
 * XSalsa20(key, nonce) is Salsa20 under the subkey HSalsa20(key, nonce[0..16]) with the nonce
 * nonce[16..24]; the subkey is derived once here. Each stream keeps up to AHEAD_BLOCKS blocks of
 * keystream generated ahead (1 KiB), which small writes spend; a longer write runs its whole
 * blocks straight through the cipher from the block counter. The state is fixed in size (subkey,
 * nonce, the keystream ahead, counters): nothing grows with the bytes or the writes, and nothing
 * is shared between streams.
 */

export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
const BLOCK = 64;
/**
 * Blocks one stream may use: @noble/ciphers takes a 32-bit counter and refuses its last value, so
 * a direction carries at most (2^32 - 1) × 64 bytes ≈ 256 GiB. Past that the stream throws
 * (the connection is aborted and redialled with new nonces); pnet's cipher would go on.
 */
export const MAX_BLOCKS = 2 ** 32 - 1;

/** A stream's keystream is used up (MAX_BLOCKS): the connection must end. */
export class KeystreamExhaustedError extends Error {
  override name = 'KeystreamExhaustedError';
}

/** Bytes as they arrive or leave: one array, or a list of chunks (libp2p's Uint8ArrayList). */
export type Chunks = Uint8Array | { readonly byteLength: number; [Symbol.iterator](): Iterator<Uint8Array> };

/** "expand 32-byte k" as little-endian words. */
const SIGMA = words(new TextEncoder().encode('expand 32-byte k'));
/**
 * Keystream generated ahead of the bytes, per stream: small writes (most frames are tens to
 * hundreds of bytes) XOR from it instead of calling the cipher for one block each time.
 */
const AHEAD_BLOCKS = 16;
/** Input for bare keystream (read-only). */
const ZEROS = new Uint8Array(AHEAD_BLOCKS * BLOCK);

function words(bytes: Uint8Array): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

function bytesOf(w: Uint32Array): Uint8Array {
  const out = new Uint8Array(w.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < w.length; i++) view.setUint32(i * 4, w[i] as number, true);
  return out;
}

export class XSalsa20Stream {
  readonly #subkey: Uint8Array;
  readonly #nonce: Uint8Array;
  /** The subkey and nonce as words, for salsa20-blocks.ts (keystream ahead). */
  readonly #keyWords: Uint32Array;
  readonly #nonceWords: Uint32Array;
  /** Counter of the next block to generate. */
  #block: number;
  /** Keystream generated ahead: bytes [#used, #end) are not yet spent; they end at block #block. */
  readonly #keystream = new Uint8Array(AHEAD_BLOCKS * BLOCK);
  readonly #keystreamWords = new Uint32Array(this.#keystream.buffer);
  #used = 0;
  #end = 0;

  /** `firstBlock`: where the keystream starts (64-byte blocks); a connection starts at 0. */
  constructor(key: Uint8Array, nonce: Uint8Array, firstBlock = 0) {
    if (key.byteLength !== KEY_BYTES) throw new RangeError(`XSalsa20 key must be ${KEY_BYTES} bytes`);
    if (nonce.byteLength !== NONCE_BYTES) throw new RangeError(`XSalsa20 nonce must be ${NONCE_BYTES} bytes`);
    const subkey = new Uint32Array(8);
    hsalsa(SIGMA, words(key), words(nonce.subarray(0, 16)), subkey);
    this.#subkey = bytesOf(subkey);
    this.#nonce = nonce.slice(16, NONCE_BYTES);
    this.#keyWords = subkey;
    this.#nonceWords = words(this.#nonce);
    this.#block = firstBlock;
  }

  /** Bytes of keystream used so far. */
  get position(): number {
    return this.#block * BLOCK - (this.#end - this.#used);
  }

  /** XORs `data` (all chunks, in order) with the next keystream bytes, into a new array. */
  update(data: Chunks): Uint8Array {
    const out = new Uint8Array(data.byteLength);
    if (data instanceof Uint8Array) {
      this.xor(data, out, 0);
      return out;
    }
    let at = 0;
    for (const chunk of data) {
      this.xor(chunk, out, at);
      at += chunk.byteLength;
    }
    return out;
  }

  /** XORs `input` with the next input.length keystream bytes into output[at ..]. */
  xor(input: Uint8Array, output: Uint8Array, at: number): void {
    const n = input.byteLength;
    let i = this.#drain(input, output, at, 0);
    // Long runs go straight through the cipher, whole blocks at a time; the rest from keystream.
    if (n - i >= this.#keystream.byteLength) {
      const whole = n - i - ((n - i) % BLOCK);
      const blocks = whole / BLOCK;
      this.#reserve(blocks);
      const to = output.subarray(at + i, at + i + whole);
      salsa20(this.#subkey, this.#nonce, input.subarray(i, i + whole), to, this.#block);
      this.#block += blocks;
      i += whole;
    }
    while (i < n) {
      this.#refill();
      i = this.#drain(input, output, at, i);
    }
  }

  /** Spends unspent keystream on input[i ..]; returns the next unprocessed index. */
  #drain(input: Uint8Array, output: Uint8Array, at: number, i: number): number {
    const ks = this.#keystream;
    const end = Math.min(input.byteLength, i + this.#end - this.#used);
    let u = this.#used;
    for (; i < end; i++) output[at + i] = (input[i] as number) ^ (ks[u++] as number);
    this.#used = u;
    return i;
  }

  /** Generates the next AHEAD_BLOCKS blocks of keystream (fewer at the counter's end). */
  #refill(): void {
    const blocks = Math.min(AHEAD_BLOCKS, MAX_BLOCKS - this.#block);
    this.#reserve(Math.max(blocks, 1));
    const len = blocks * BLOCK;
    if (LITTLE_ENDIAN) salsa20Blocks(this.#keyWords, this.#nonceWords, this.#block, blocks, this.#keystreamWords);
    else salsa20(this.#subkey, this.#nonce, ZEROS.subarray(0, len), this.#keystream.subarray(0, len), this.#block);
    this.#block += blocks;
    this.#used = 0;
    this.#end = len;
  }

  #reserve(blocks: number): void {
    if (this.#block + blocks > MAX_BLOCKS) {
      throw new KeystreamExhaustedError(`XSalsa20 stream exhausted after ${this.#block} blocks`);
    }
  }
}
