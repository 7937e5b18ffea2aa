import { type GossipSub, type Message, TopicValidatorResult } from '@libp2p/gossipsub';
import { decodeMessage, encodeMessage } from '../../shared/wire/codec.ts';
import { type Heartbeat, type MemberUpdate, membersTopic } from '../../shared/wire/heartbeat.ts';

export interface MembersTopicOptions {
  pubsub: GossipSub;
  pool: string;
  maxMessageBytes: number;
  /** A record signed by its member; returns whether it was new (else it is not forwarded). */
  onRecord: (record: Heartbeat) => 'accept' | 'ignore' | { reject: string; detail: string };
  /** A liveness update whose signer may speak for it. */
  onUpdate: (update: MemberUpdate['update'], from: string) => void;
  onReject: (reason: string, detail: string) => void;
  onBytes: (direction: 'in' | 'out', bytes: number) => void;
  log: (msg: string, fields: Record<string, unknown>) => void;
}

/**
 * The members topic: records and liveness updates, published on change, checked in the
 * gossipsub validator before anything else sees them — size, CBOR schema, and who may say it: a
 * member speaks for its own record, its own `alive` and `left`; an accuser signs its own
 * `suspect` or `dead`. A rejected message is neither delivered nor forwarded.
 */
export class MembersTopic {
  readonly #o: MembersTopicOptions;
  readonly #topic: string;

  constructor(opts: MembersTopicOptions) {
    this.#o = opts;
    this.#topic = membersTopic(opts.pool);
  }

  start(): void {
    this.#o.pubsub.topicValidators.set(this.#topic, (_peer, msg) => this.#validate(msg));
    this.#o.pubsub.subscribe(this.#topic);
  }

  stop(): void {
    this.#o.pubsub.topicValidators.delete(this.#topic);
    try {
      this.#o.pubsub.unsubscribe(this.#topic);
    } catch {
      // Already stopped with the node.
    }
  }

  async publish(msg: Heartbeat | MemberUpdate): Promise<void> {
    const bytes = encodeMessage(msg);
    try {
      const r = await this.#o.pubsub.publish(this.#topic, bytes);
      this.#o.onBytes('out', bytes.byteLength * Math.max(1, r.recipients.length));
    } catch (err) {
      this.#o.log('members-publish-failed', { error: (err as Error).message });
    }
  }

  #validate(msg: Message): TopicValidatorResult {
    const o = this.#o;
    o.onBytes('in', msg.data.byteLength);
    if (msg.type !== 'signed') return this.#reject('unsigned', 'message is not signed');
    const decoded = decodeMessage(msg.data, o.maxMessageBytes);
    if (!decoded.ok) return this.#reject(decoded.reason, decoded.detail);
    const from = msg.from.toString();
    const m = decoded.msg;
    if (m.peerId !== from) return this.#reject('spoofed', `peerId ${m.peerId} signed by ${from}`);
    if (m.type === 'heartbeat') {
      const verdict = o.onRecord(m);
      if (verdict === 'accept') return TopicValidatorResult.Accept;
      if (verdict === 'ignore') return TopicValidatorResult.Ignore;
      return this.#reject(verdict.reject, verdict.detail);
    }
    if (m.type === 'update') {
      const u = m.update;
      const signer = u.kind === 'alive' || u.kind === 'left' ? u.id : u.from;
      if (signer !== from) return this.#reject('spoofed', `${u.kind} about ${u.id} signed by ${from}`);
      o.onUpdate(u, from);
      return TopicValidatorResult.Accept;
    }
    return this.#reject('wrong-topic', `${m.type} on the members topic`);
  }

  #reject(reason: string, detail: string): TopicValidatorResult {
    this.#o.onReject(reason, detail);
    return TopicValidatorResult.Reject;
  }
}
