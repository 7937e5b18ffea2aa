import { encode } from 'cborg';
import { decodeCbor } from '../../shared/wire/codec.ts';

/**
 * The first step of anti-entropy, the table hash, on the long-lived probe stream instead of a
 * new sync stream: a routine sync of agreeing views was a stream negotiation, a peer-store merge
 * on both sides, a hash, "same" and two closes (~9 yamux frames, each its own encryption and
 * socket write); here it is one frame each way. Only when the hashes differ does the requester
 * open `/sync/2` for the table (sync.ts). A peer that does not answer in time (an older agent
 * rejects the frame) is pulled from over `/sync/2` as before.
 *
 * Wire: `[16, nonce, hash]` asks, `[17, nonce, same]` answers. The tags lie outside the probe
 * frames' (shared/wire/probe.ts: 0–6), so a frame is ours by its first two bytes (a CBOR array
 * of three, then the tag) and the probe inbox never decodes it.
 */
const ASK = 16;
const ANSWER = 17;
const MAX_HASH = 64;
/** Most asks awaiting an answer at once (one sync runs at a time; this bounds a misuse). */
const MAX_PENDING = 64;

export interface SyncDigestsOptions {
  /** Sends a frame on the probe channel. */
  send: (peer: string, bytes: Uint8Array) => Promise<void>;
  onBytes?: (dir: 'in' | 'out', n: number) => void;
}

export class SyncDigests {
  readonly #o: SyncDigestsOptions;
  readonly #pending = new Map<number, { peer: string; settle: (same: boolean | undefined) => void }>();
  #nonce = 0;
  #own: (() => string) | undefined;

  constructor(o: SyncDigestsOptions) {
    this.#o = o;
  }

  /** Answers asks with the hash of our table from now on. */
  serve(ownHash: () => string): void {
    this.#own = ownHash;
  }

  /**
   * Whether `peer`'s table hash equals `hash`: true or false, or undefined when it did not answer
   * within `timeoutMs`. Rejects when the frame cannot be sent (the peer is unreachable).
   */
  async ask(peer: string, hash: string, timeoutMs: number): Promise<boolean | undefined> {
    if (this.#pending.size >= MAX_PENDING) return undefined;
    this.#nonce = (this.#nonce + 1) % 0x7fffffff;
    const nonce = this.#nonce;
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<boolean | undefined>((resolve) => {
      this.#pending.set(nonce, { peer, settle: resolve });
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      await this.#send(peer, [ASK, nonce, hash]);
      return await answer;
    } finally {
      clearTimeout(timer);
      this.#pending.delete(nonce);
    }
  }

  /** Takes a frame of this exchange (true), or leaves it to the probe inbox (false). */
  receive(from: string, bytes: Uint8Array): boolean {
    if (bytes[0] !== 0x83 || (bytes[1] !== ASK && bytes[1] !== ANSWER)) return false;
    this.#o.onBytes?.('in', bytes.byteLength);
    const v = decodeCbor(bytes);
    if (!Array.isArray(v) || !Number.isSafeInteger(v[1])) return true;
    const [tag, nonce, body] = v as [number, number, unknown];
    if (tag === ANSWER) {
      const waiting = this.#pending.get(nonce);
      if (waiting?.peer === from && typeof body === 'boolean') waiting.settle(body);
    } else if (this.#own && typeof body === 'string' && body.length <= MAX_HASH) {
      void this.#send(from, [ANSWER, nonce, body === this.#own()]).catch(() => undefined);
    }
    return true;
  }

  #send(peer: string, frame: unknown[]): Promise<void> {
    const bytes = encode(frame);
    this.#o.onBytes?.('out', bytes.byteLength);
    return this.#o.send(peer, bytes);
  }
}
