import { createHash } from 'node:crypto';
import type { Stream } from '@libp2p/interface';

/**
 * Bundle transfer over libp2p streams. Two protocols, one framing: a JSON header line, then raw
 * bytes.
 *
 * - `/poolparty/bundle/1` (pull): the client sends `{"sha256"}`; the server answers
 *   `{"ok":true,"size"}` + bytes, or `{"ok":false,"error"}`.
 * - `/poolparty/bundle-push/1` (push, to the leader): the client sends
 *   `{"sha256","size","maxUnavailable"}` + bytes; the server answers `{"ok"}` or `{"ok":false,"error"}`.
 *
 * Both sides bound what they read (`maxBytes`) and verify the sha256 before anything else sees
 * the bytes.
 */
export const PULL_PROTOCOL = '/poolparty/bundle/1';
export const PUSH_PROTOCOL = '/poolparty/bundle-push/1';
const MAX_HEADER = 4096;

export class BundleTransferError extends Error {
  override name = 'BundleTransferError';
}

/** Reads a stream as: one header line (JSON), then up to `maxBytes` of body. */
export class FrameReader {
  readonly #iter: AsyncIterator<Uint8Array | { subarray(): Uint8Array }>;
  #buf: Buffer = Buffer.alloc(0);

  constructor(stream: AsyncIterable<Uint8Array | { subarray(): Uint8Array }>) {
    this.#iter = stream[Symbol.asyncIterator]();
  }

  async #more(): Promise<boolean> {
    const r = await this.#iter.next();
    if (r.done) return false;
    const chunk = r.value instanceof Uint8Array ? r.value : r.value.subarray();
    this.#buf = Buffer.concat([this.#buf, chunk]);
    return true;
  }

  async header(): Promise<Record<string, unknown>> {
    for (;;) {
      const nl = this.#buf.indexOf(10);
      if (nl >= 0) {
        const line = this.#buf.subarray(0, nl).toString('utf8');
        this.#buf = this.#buf.subarray(nl + 1);
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          throw new BundleTransferError('bad header: not JSON');
        }
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          throw new BundleTransferError('bad header: not an object');
        }
        return value as Record<string, unknown>;
      }
      if (this.#buf.length > MAX_HEADER) throw new BundleTransferError('bad header: too long');
      if (!(await this.#more())) throw new BundleTransferError('stream ended before the header');
    }
  }

  /** Reads exactly `size` bytes (≤ maxBytes). */
  async body(size: number, maxBytes: number): Promise<Buffer> {
    if (!Number.isSafeInteger(size) || size < 0) throw new BundleTransferError('bad size');
    if (size > maxBytes) throw new BundleTransferError(`bundle of ${size} bytes exceeds the limit of ${maxBytes}`);
    while (this.#buf.length < size) {
      if (!(await this.#more()))
        throw new BundleTransferError(`stream ended after ${this.#buf.length} of ${size} bytes`);
      if (this.#buf.length > size) break;
    }
    if (this.#buf.length > size) throw new BundleTransferError('more bytes than announced');
    return this.#buf;
  }
}

export function line(header: Record<string, unknown>): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(header)}\n`);
}

/** Sends bytes respecting backpressure. */
export async function sendAll(stream: Stream, data: Uint8Array): Promise<void> {
  const CHUNK = 64 * 1024;
  for (let off = 0; off < data.length; off += CHUNK) {
    if (!stream.send(data.subarray(off, off + CHUNK))) await stream.onDrain();
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Client side of a pull: asks a peer's stream for `sha`, returns the verified bytes. */
export async function pullOver(stream: Stream, sha: string, maxBytes: number): Promise<Buffer> {
  await sendAll(stream, line({ sha256: sha }));
  const reader = new FrameReader(stream);
  const header = await reader.header();
  if (header.ok !== true) throw new BundleTransferError(`peer refused: ${String(header.error ?? 'unknown error')}`);
  const bytes = await reader.body(header.size as number, maxBytes);
  await stream.close().catch(() => undefined);
  const actual = sha256(bytes);
  if (actual !== sha) throw new BundleTransferError(`received bundle has sha256 ${actual}, expected ${sha}`);
  return bytes;
}

/** A push refused because the peer does not lead (any more): ask the pool for the leader again. */
export const NOT_LEADER = 'not-leader';

export interface PushAnswer {
  ok: boolean;
  error?: string;
  /** Set on a refusal the pusher can act on. */
  code?: typeof NOT_LEADER;
}

/** Client side of a push: sends the bundle, returns the server's answer. */
export async function pushOver(
  stream: Stream,
  bytes: Buffer,
  opts: { maxUnavailable?: number; cloud?: string } = {},
): Promise<PushAnswer> {
  await sendAll(stream, line({ sha256: sha256(bytes), size: bytes.length, ...opts }));
  await sendAll(stream, bytes);
  const reader = new FrameReader(stream);
  const header = await reader.header();
  await stream.close().catch(() => undefined);
  if (header.ok === true) return { ok: true };
  return {
    ok: false,
    error: String(header.error ?? 'unknown error'),
    ...(header.code === NOT_LEADER ? { code: NOT_LEADER } : {}),
  };
}
