import type { Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PoolNode } from '../p2p/node.ts';
import { FrameSplitter, frame, joined } from './frames.ts';
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

/** Whether a send failed because nothing listens at the peer (its process is gone): evidence, never worth a resend. */
export function isRefused(err: unknown): boolean {
  return err instanceof SendError && err.failure === 'refused';
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
  /** The stream it waits for. */
  opening?: Opening;
}

/** An outbound stream to a peer, open or opening. */
interface Opening {
  stream: Promise<Stream>;
  /** When it began to open (the channel's clock). */
  since: number;
  settled: boolean;
}

/**
 * One long-lived outbound stream per peer for a protocol of small frames, so a probe costs one
 * frame on an open connection instead of a stream negotiation. Inbound streams are read frame by
 * frame; a peer that breaks the framing gets its stream closed, nothing else.
 */
export class FramedChannel {
  readonly #o: FramedChannelOptions;
  readonly #out = new Map<string, Opening>();
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
    for (const { stream: s } of outs) void s.then((st) => st.abort(new Error('stopping'))).catch(() => undefined);
    for (const s of this.#inbound) s.abort(new Error('stopping'));
    this.#inbound.clear();
  }

  /**
   * Sends one frame to `peer`; rejects with a SendError saying whether the peer refused. Frames
   * sent to one peer before the stream's next turn (the same synchronous run: a tell to several
   * members, a summary in several frames, a frame during a dial) go out as one write: each frame
   * is otherwise its own yamux frame, noise encryption and socket write. Every send of a batch
   * settles with that write. A frame does not join a batch whose stream has been opening for
   * dialTimeout or more (a dial the event loop let outlive its timeout): it goes on a new open, so
   * one slow dial cannot take the frames of the next seconds with it (issue 13: a follower's next
   * load report joined the dial that lost its first, and the new leader's lease waited two
   * loadIntervals).
   */
  send(peer: string, payload: Uint8Array): Promise<void> {
    if (!this.#running) return Promise.resolve();
    let framed: Uint8Array;
    try {
      framed = frame(payload);
    } catch (err) {
      return Promise.reject(err);
    }
    const now = this.#o.now();
    const open = this.#batches.get(peer);
    if (open && !this.#late(open.opening, now)) {
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
    const opening = this.#stream(peer);
    const pending = opening.stream;
    batch.opening = opening;
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
      if (this.#out.get(peer) === opening) this.#out.delete(peer);
      stream.abort(err as Error);
      throw new SendError(peer, classifyDialError(err, true), err);
    }
    // A stream a newer open replaced carried only this batch: one outbound stream per peer stays.
    if (this.#out.get(peer) !== opening) void stream.close().catch(() => undefined);
  }

  /**
   * The open (or opening) outbound stream to `peer`; a new one when the last has been opening for
   * dialTimeout or more (its frames still wait for it).
   */
  #stream(peer: string): Opening {
    const now = this.#o.now();
    const open = this.#out.get(peer);
    if (open && !this.#late(open, now)) return open;
    const pending = this.#o.node.dialProtocol(peerIdFromString(peer), this.#o.protocol, {
      signal: AbortSignal.timeout(this.#o.dialTimeout),
    });
    const opening: Opening = { stream: pending, since: now, settled: false };
    this.#out.set(peer, opening);
    pending.then(
      (stream) => {
        opening.settled = true;
        // The remote side never writes on our outbound stream; read it only to notice its end.
        void this.#drain(peer, stream, opening);
      },
      () => {
        opening.settled = true;
        if (this.#out.get(peer) === opening) this.#out.delete(peer);
      },
    );
    return opening;
  }

  /** Whether `o` is still opening after dialTimeout (its timeout fired, or is about to). */
  #late(o: Opening | undefined, now: number): boolean {
    return o !== undefined && !o.settled && now - o.since >= this.#o.dialTimeout;
  }

  /** Drops the cached stream to `peer` (its connection closed). */
  forget(peer: string): void {
    const s = this.#out.get(peer)?.stream;
    this.#out.delete(peer);
    void s?.then((st) => st.abort(new Error('forgotten'))).catch(() => undefined);
  }

  async #drain(peer: string, stream: Stream, pending: Opening): Promise<void> {
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
      // The sender closed its end (its stream was replaced by a newer one): close ours, so the
      // stream is gone on both sides.
      void stream.close().catch(() => undefined);
    } catch {
      // The peer went away mid-stream: nothing to do.
    } finally {
      this.#inbound.delete(stream);
    }
  }
}
