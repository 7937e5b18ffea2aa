import { type GossipSub, type Message, TopicValidatorResult } from '@libp2p/gossipsub';
import { decodeMessage, encodeMessage, type RejectReason } from '../shared/wire/codec.ts';
import type { WireMessage } from '../shared/wire/heartbeat.ts';

export type GossipRejectReason =
  | RejectReason
  | 'unsigned'
  | 'spoofed'
  | 'stale'
  | 'wrong-topic'
  | 'handler-error'
  | 'instance-taken';

export interface GossipChannelOptions {
  pubsub: GossipSub;
  topic: string;
  /** Message types this topic carries; others are rejected. */
  types: ReadonlySet<WireMessage['type']>;
  maxMessageBytes: number;
  /** Whether (peerId, seq) is new; stale messages are ignored, not forwarded. */
  isFresh: (peerId: string, seq: number) => boolean;
  /**
   * Called once per valid new message, inside gossipsub validation (before forwarding). It may
   * return a verdict: 'ignore' (not forwarded, not penalised) or a rejection (counted, penalised).
   */
  onMessage: (msg: WireMessage) => undefined | 'ignore' | { reject: string; detail: string };
  onReject: (reason: GossipRejectReason, detail: string) => void;
  onBytes: (direction: 'in' | 'out', bytes: number) => void;
}

/**
 * The heartbeat topic, as a thin shell around gossipsub: every inbound message is checked in the
 * topic validator (size, schema, signed by the peer it claims to be from, sequence fresh), so an
 * invalid message is neither delivered nor forwarded, and the peer that relayed it is penalised by
 * gossipsub's scoring. Nothing a peer sends can throw out of here.
 */
export class GossipChannel {
  readonly #o: GossipChannelOptions;

  constructor(opts: GossipChannelOptions) {
    this.#o = opts;
  }

  start(): void {
    const { pubsub, topic } = this.#o;
    pubsub.topicValidators.set(topic, (_peer, msg) => this.#validate(msg));
    pubsub.subscribe(topic);
  }

  stop(): void {
    const { pubsub, topic } = this.#o;
    pubsub.topicValidators.delete(topic);
    try {
      pubsub.unsubscribe(topic);
    } catch {
      // Already stopped with the node.
    }
  }

  async publish(msg: WireMessage): Promise<number> {
    const bytes = encodeMessage(msg);
    const result = await this.#o.pubsub.publish(this.#o.topic, bytes);
    this.#o.onBytes('out', bytes.byteLength * Math.max(1, result.recipients.length));
    return result.recipients.length;
  }

  #validate(msg: Message): TopicValidatorResult {
    const o = this.#o;
    o.onBytes('in', msg.data.byteLength);
    if (msg.type !== 'signed') return this.#reject('unsigned', 'message is not signed');
    const decoded = decodeMessage(msg.data, o.maxMessageBytes);
    if (!decoded.ok) return this.#reject(decoded.reason, decoded.detail);
    if (!o.types.has(decoded.msg.type)) return this.#reject('wrong-topic', `${decoded.msg.type} on ${o.topic}`);
    const from = msg.from.toString();
    if (decoded.msg.peerId !== from) return this.#reject('spoofed', `peerId ${decoded.msg.peerId} signed by ${from}`);
    if (!o.isFresh(from, decoded.msg.seq)) {
      o.onReject('stale', `seq ${decoded.msg.seq} from ${from} is not newer`);
      return TopicValidatorResult.Ignore;
    }
    try {
      const verdict = o.onMessage(decoded.msg);
      if (verdict === 'ignore') return TopicValidatorResult.Ignore;
      if (verdict) return this.#reject(verdict.reject as GossipRejectReason, verdict.detail);
    } catch (err) {
      // Our own bug, not the peer's: do not penalise the sender.
      o.onReject('handler-error', (err as Error).message);
      return TopicValidatorResult.Ignore;
    }
    return TopicValidatorResult.Accept;
  }

  #reject(reason: GossipRejectReason, detail: string): TopicValidatorResult {
    this.#o.onReject(reason, detail);
    return TopicValidatorResult.Reject;
  }
}
