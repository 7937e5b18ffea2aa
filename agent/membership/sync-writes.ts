import type { Stream } from '@libp2p/interface';
import { joined } from '../transport/frames.ts';

/**
 * Frames of a sync, written in as few writes as possible. Every `stream.send` is its own yamux
 * frame, noise message, pool-key cipher call and TCP segment; a table written a frame at a time
 * (one per record) cost a 50-member pool 50 of each per sync, and a join storm runs hundreds of
 * syncs. The frames themselves are unchanged: a reader splits the byte stream into frames however
 * it was written (transport/frames.ts `FrameSplitter`), so an agent of any version reads a table
 * written here, and this side reads one written a frame at a time.
 */

/**
 * Most bytes of frames joined into one write: a yamux data frame (12-byte header) whose bytes fit
 * one noise message (65,535 bytes less the 16-byte tag), so one write is one of each. The peer's
 * limits stay as they were: each frame within its reader's frame size, the count within its
 * reader's frame count, the bytes within the yamux receive window (256 kB; yamux waits for an
 * update beyond it).
 */
export const WRITE_BYTES = 65_535 - 16 - 12;

/** `frames` joined into writes of at most `max` bytes, in order; a larger frame is a write alone. Pure. */
export function writesOf(frames: readonly Uint8Array[], max = WRITE_BYTES): Uint8Array[] {
  const writes: Uint8Array[] = [];
  let batch: Uint8Array[] = [];
  let size = 0;
  const flush = () => {
    if (batch.length > 0) writes.push(joined(batch));
    batch = [];
    size = 0;
  };
  for (const f of frames) {
    if (size + f.byteLength > max) flush();
    batch.push(f);
    size += f.byteLength;
  }
  flush();
  return writes;
}

/** Writes framed bytes on `stream`, joined as `writesOf` does, waiting for the stream to drain. */
export async function sendFrames(stream: Stream, frames: readonly Uint8Array[]): Promise<void> {
  for (const bytes of writesOf(frames)) {
    if (!stream.send(bytes)) await stream.onDrain();
  }
}
