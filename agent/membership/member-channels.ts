import { membersTopic } from '../../shared/wire/heartbeat.ts';
import { probeProtocol } from '../../shared/wire/probe.ts';
import { GossipChannel } from '../gossip.ts';
import { FramedChannel } from '../transport/channel.ts';
import { PeerRateLimit } from '../transport/rate-limit.ts';
import { type InboxContext, receiveFrame, receiveRecord, receiveUpdate } from './member-inbox.ts';
import type { MembershipOptions } from './membership-options.ts';
import { SyncDigests } from './sync-digest.ts';

/**
 * The two ways membership traffic arrives, both into the inbox's checks: records and liveness
 * updates on the members topic (gossipsub, signed, published on change), and frames (probes, tells,
 * load reports, summaries, anti-entropy's table hash: sync-digest.ts) on the long-lived probe
 * streams, rate-limited per peer before parsing.
 */
export function memberChannels(
  o: MembershipOptions,
  inbox: InboxContext,
): { topic: GossipChannel; probes: FramedChannel; digests: SyncDigests } {
  const topic = new GossipChannel({
    pubsub: o.node.services.pubsub,
    topic: membersTopic(o.pool),
    types: new Set(['heartbeat', 'update']),
    maxMessageBytes: o.maxMessageBytes,
    isFresh: () => true,
    onMessage: (m) =>
      m.type === 'heartbeat' ? receiveRecord(inbox, m) : m.type === 'update' ? receiveUpdate(inbox, m) : 'ignore',
    onReject: o.onReject,
    onBytes: o.onBytes,
  });
  const digests = new SyncDigests({ send: (to, bytes) => probes.send(to, bytes), onBytes: o.onBytes });
  const probes: FramedChannel = new FramedChannel({
    node: o.node,
    protocol: probeProtocol(o.pool),
    now: o.now,
    // Probes are ~1/s per neighbour; load reports to a leader are 1 per member per interval.
    limit: new PeerRateLimit(50, 200),
    dialTimeout: 2_000,
    onFrame: (from, bytes) => {
      if (!digests.receive(from, bytes)) receiveFrame(inbox, from, bytes);
    },
    onReject: (from, reason) => o.onReject('frame', `${reason} from ${from}`),
  });
  return { topic, probes, digests };
}
