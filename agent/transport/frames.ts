/**
 * Length-prefixed frames on a byte stream: a 2-byte big-endian length, then that many bytes.
 * Pure (no streams): the channel feeds chunks in and gets whole frames out.
 */

export const MAX_FRAME = 16 * 1024;

/** Frames (or any byte runs) as one buffer for one write; a single one as it is. */
export function joined(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

export function frame(payload: Uint8Array): Uint8Array {
  if (payload.byteLength > MAX_FRAME) throw new RangeError(`frame of ${payload.byteLength} bytes exceeds ${MAX_FRAME}`);
  const out = new Uint8Array(2 + payload.byteLength);
  out[0] = payload.byteLength >> 8;
  out[1] = payload.byteLength & 0xff;
  out.set(payload, 2);
  return out;
}

/** Splits a byte stream into frames; a length above `max` poisons the reader (the stream is closed). */
export class FrameSplitter {
  #buf = new Uint8Array(0);
  readonly #max: number;

  constructor(max = MAX_FRAME) {
    this.#max = max;
  }

  /** Frames completed by `chunk`, or an error string when the peer broke the framing. */
  push(chunk: Uint8Array): Uint8Array[] | string {
    const buf = this.#buf.byteLength === 0 ? chunk : concat(this.#buf, chunk);
    const frames: Uint8Array[] = [];
    let off = 0;
    while (buf.byteLength - off >= 2) {
      const len = ((buf[off] as number) << 8) | (buf[off + 1] as number);
      if (len > this.#max) return `frame length ${len} exceeds ${this.#max}`;
      if (buf.byteLength - off - 2 < len) break;
      frames.push(buf.subarray(off + 2, off + 2 + len));
      off += 2 + len;
    }
    this.#buf = buf.slice(off);
    return frames;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
