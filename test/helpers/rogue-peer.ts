import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import { encode } from 'cborg';
import { createPoolNode, type PoolNode } from '../../agent/p2p/node.ts';
import { FramedChannel } from '../../agent/transport/channel.ts';
import { PeerRateLimit } from '../../agent/transport/rate-limit.ts';
import { readPoolKey } from '../../shared/pool-key.ts';
import { encodeMessage } from '../../shared/wire/codec.ts';
import { type Heartbeat, membersTopic } from '../../shared/wire/heartbeat.ts';
import { decodeFrame, frameToWire, probeProtocol } from '../../shared/wire/probe.ts';
import { waitFor } from '../fixtures/wait.ts';

/**
 * A key-holding peer that is no agent: a raw libp2p node with the pool key, which joins the
 * members topic, publishes whatever record it is told to and answers probes (so SWIM holds it
 * alive). Binding tests use it to claim instances with or without evidence.
 */
export class RoguePeer {
  #seq = Date.now();
  #probes: FramedChannel | undefined;

  private constructor(
    readonly node: PoolNode,
    readonly pool: string,
  ) {}

  static async start(pool: string, poolKeyFile: string, host = '127.0.0.1'): Promise<RoguePeer> {
    const node = await createPoolNode({
      privateKey: await generateKeyPair('Ed25519'),
      poolKey: await readPoolKey(poolKeyFile),
      listen: [`/ip4/${host}/tcp/0`],
      maxConnections: 16,
      maxMessageBytes: 1 << 20,
    });
    await node.start();
    return new RoguePeer(node, pool);
  }

  get peerId(): string {
    return this.node.peerId.toString();
  }

  /**
   * Dials the agents and waits until they are in this node's mesh of the members topic: a record
   * published before that could only be gossiped about, not delivered.
   */
  async join(agents: string[]): Promise<void> {
    const topic = membersTopic(this.pool);
    const pubsub = this.node.services.pubsub;
    pubsub.subscribe(topic);
    for (const a of agents) await this.node.dial(multiaddr(a)).catch(() => undefined);
    // The mesh is on the implementation, not on the GossipSub interface.
    const mesh = pubsub as unknown as { getMeshPeers(t: string): string[] };
    await waitFor(
      `${agents.length} agents in the rogue's mesh`,
      () => mesh.getMeshPeers(topic).length >= agents.length,
      {
        timeoutMs: 20_000,
      },
    );
  }

  /** Answers every ping on the probe protocol. */
  async answerProbes(): Promise<void> {
    const ch: FramedChannel = new FramedChannel({
      node: this.node,
      protocol: probeProtocol(this.pool),
      now: Date.now,
      limit: new PeerRateLimit(50, 200),
      dialTimeout: 2000,
      onFrame: (from, bytes) => {
        const f = decodeFrame(bytes);
        if (typeof f !== 'string' && f.t === 'ping')
          void ch.send(from, encode(frameToWire({ t: 'ack', seq: f.seq }))).catch(() => undefined);
      },
      onReject: () => undefined,
    });
    await ch.start();
    this.#probes = ch;
  }

  /** Sends `bytes` as one frame to `peerId` on the probe protocol (after answerProbes). */
  async sendFrame(peerId: string, bytes: Uint8Array): Promise<void> {
    if (!this.#probes) throw new Error('answerProbes() first: frames go over its channel');
    await this.#probes.send(peerId, bytes);
  }

  /** Publishes a record claiming `instanceId` of `cloud` (with `over` applied) and an `alive` for itself. */
  async claim(instanceId: string, cloud: string, over: Partial<Heartbeat> = {}): Promise<void> {
    const topic = membersTopic(this.pool);
    const record: Heartbeat = {
      v: 2,
      type: 'heartbeat',
      peerId: this.peerId,
      instanceId,
      cloud,
      addrs: this.node.getMultiaddrs().map((a) => a.toString().split('/p2p/')[0] as string),
      monitor: '',
      startedAt: 1,
      seq: ++this.#seq,
      version: '0.1.0',
      metrics: {},
      ...over,
    };
    await this.node.services.pubsub.publish(topic, encodeMessage(record)).catch(() => undefined);
    const update = {
      v: 2 as const,
      type: 'update' as const,
      peerId: this.peerId,
      seq: ++this.#seq,
      update: { kind: 'alive' as const, id: this.peerId, incarnation: 0 },
    };
    await this.node.services.pubsub.publish(topic, encodeMessage(update)).catch(() => undefined);
  }

  async stop(): Promise<void> {
    await Promise.resolve(this.#probes?.stop()).catch(() => undefined);
    await Promise.resolve(this.node.stop()).catch(() => undefined);
  }
}
