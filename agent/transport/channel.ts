import type { Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PoolNode } from '../p2p/node.ts';
import { FrameSplitter, frame } from './frames.ts';
import type { PeerRateLimit } from './rate-limit.ts';
import { lazyWindowUpdates } from './yamux-window.ts';

export type DialFailure = 'refused' | 'timeout' | 'other';

/**
 * Tells "nothing listens there" (the agent died: kill -9 closes its sockets, the host answers
 * a new connection with RST) from silence. Only the first is strong evidence of death. A reset
 * counts only on a stream that was open (`established`): while dialling it is no evidence, as a
 * live peer past its limit of pending handshakes accepts and closes at once (p2p/node.ts), and a
 * seed in a join storm must not be declared dead by the neighbours that dial it.
 */
export function classifyDialError(err: unknown, established = false, depth = 0): DialFailure {
  if (!err || typeof err !== 'object' || depth > 4) return 'other';
  const e = err as { code?: string; message?: string; errors?: unknown[]; cause?: unknown; name?: string };
  const refusal = established ? /ECONNREFUSED|ECONNRESET/ : /ECONNREFUSED/;
  if (refusal.test(e.code ?? '') || refusal.test(e.message ?? '')) return 'refused';
  for (const inner of [...(e.errors ?? []), e.cause]) {
    const r = classifyDialError(inner, established, depth + 1);
    if (r !== 'other') return r;
  }
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || /timed? ?out|aborted/i.test(e.message ?? ''))
    return 'timeout';
  return 'other';
}

export class SendError extends Error {
  override name = 'SendError';
  readonly failure: DialFailure;
  constructor(peer: string, failure: DialFailure, cause: unknown) {
    super(`send to ${peer.slice(-8)} failed (${failure}): ${(cause as Error)?.message ?? String(cause)}`);
    this.failure = failure;
  }
}

export interface FramedChannelOptions {
  node: PoolNode;
  protocol: string;
  now: () => number;
  /** Shed a peer's frames beyond this before decoding. */
  limit: PeerRateLimit;
  onFrame: (from: string, bytes: Uint8Array) => void;
  onReject: (from: string, reason: string) => void;
  /** Opening a stream to a peer we are not connected to dials it; bounded by this (ms). */
  dialTimeout: number;
}

interface Batch {
  parts: Uint8Array[];
  sent: Promise<void>;
}

function joined(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/**
 * One long-lived outbound stream per peer for a protocol of small frames, so a probe costs one
 * frame on an open connection instead of a stream negotiation. Inbound streams are read frame by
 * frame; a peer that breaks the framing gets its stream closed, nothing else.
 */
export class FramedChannel {
  readonly #o: FramedChannelOptions;
  readonly #out = new Map<string, Promise<Stream>>();
  readonly #inbound = new Set<Stream>();
  /** Frames waiting for their peer's stream, one batch per peer. */
  readonly #batches = new Map<string, Batch>();
  #running = false;

  constructor(opts: FramedChannelOptions) {
    this.#o = opts;
    // Before any frame flows: an idle agent's traffic is mostly these small frames.
    lazyWindowUpdates();
  }

  async start(): Promise<void> {
    this.#running = true;
    await this.#o.node.handle(this.#o.protocol, (stream, conn) => void this.#read(stream, conn.remotePeer.toString()), {
      maxInboundStreams: 4,
    });
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#o.node.unhandle(this.#o.protocol).catch(() => undefined);
    const outs = [...this.#out.values()];
    this.#out.clear();
    for (const s of outs) void s.then((st) => st.abort(new Error('stopping'))).catch(() => undefined);
    for (const s of this.#inbound) s.abort(new Error('stopping'));
    this.#inbound.clear();
  }

  /**
   * Sends one frame to `peer`; rejects with a SendError saying whether the peer refused. Frames
   * sent to one peer before the stream's next turn (the same synchronous run: a tell to several
   * members, a summary in several frames, a frame during a dial) go out as one write: each frame
   * is otherwise its own yamux frame, noise encryption and socket write. Every send of a batch
   * settles with that write.
   */
  send(peer: string, payload: Uint8Array): Promise<void> {
    if (!this.#running) return Promise.resolve();
    let framed: Uint8Array;
    try {
      framed = frame(payload);
    } catch (err) {
      return Promise.reject(err);
    }
    const open = this.#batches.get(peer);
    if (open) {
      open.parts.push(framed);
      return open.sent;
    }
    const batch: Batch = { parts: [framed], sent: Promise.resolve() };
    this.#batches.set(peer, batch);
    batch.sent = this.#write(peer, batch);
    return batch.sent;
  }

  /** Writes `batch` once the stream is open (at the earliest after a microtask: the batch fills meanwhile). */
  async #write(peer: string, batch: Batch): Promise<void> {
    const pending = this.#stream(peer);
    let stream: Stream;
    try {
      stream = await pending;
    } catch (err) {
      throw new SendError(peer, classifyDialError(err), err);
    } finally {
      if (this.#batches.get(peer) === batch) this.#batches.delete(peer);
    }
    try {
      if (!stream.send(joined(batch.parts))) await stream.onDrain({ signal: AbortSignal.timeout(this.#o.dialTimeout) });
    } catch (err) {
      if (this.#out.get(peer) === pending) this.#out.delete(peer);
      stream.abort(err as Error);
      throw new SendError(peer, classifyDialError(err, true), err);
    }
  }

  /** The open (or opening) outbound stream to `peer`. */
  #stream(peer: string): Promise<Stream> {
    const open = this.#out.get(peer);
    if (open) return open;
    const pending = this.#o.node.dialProtocol(peerIdFromString(peer), this.#o.protocol, {
      signal: AbortSignal.timeout(this.#o.dialTimeout),
    });
    this.#out.set(peer, pending);
    pending.then(
      (stream) => {
        // The remote side never writes on our outbound stream; read it only to notice its end.
        void this.#drain(peer, stream, pending);
      },
      () => {
        if (this.#out.get(peer) === pending) this.#out.delete(peer);
      },
    );
    return pending;
  }

  /** Drops the cached stream to `peer` (its connection closed). */
  forget(peer: string): void {
    const s = this.#out.get(peer);
    this.#out.delete(peer);
    void s?.then((st) => st.abort(new Error('forgotten'))).catch(() => undefined);
  }

  async #drain(peer: string, stream: Stream, pending: Promise<Stream>): Promise<void> {
    try {
      for await (const _ of stream) {
        // Nothing is expected here.
      }
    } catch {
      // Closed or reset: the next send opens a new stream.
    }
    if (this.#out.get(peer) === pending) this.#out.delete(peer);
  }

  async #read(stream: Stream, from: string): Promise<void> {
    if (!this.#running) return stream.abort(new Error('stopping'));
    this.#inbound.add(stream);
    const splitter = new FrameSplitter();
    try {
      for await (const chunk of stream) {
        const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray();
        const frames = splitter.push(bytes);
        if (typeof frames === 'string') {
          this.#o.onReject(from, frames);
          stream.abort(new Error(frames));
          return;
        }
        for (const f of frames) {
          if (!this.#o.limit.take(from, this.#o.now())) {
            this.#o.onReject(from, 'rate-limited');
            continue;
          }
          this.#o.onFrame(from, f);
        }
      }
    } catch {
      // The peer went away mid-stream: nothing to do.
    } finally {
      this.#inbound.delete(stream);
    }
  }
}
