import { type MemberUpdate, membersTopic } from '../../shared/wire/heartbeat.ts';
import { type ProbeFrame, probeProtocol } from '../../shared/wire/probe.ts';
import { GossipChannel } from '../gossip.ts';
import { FramedChannel, SendError } from '../transport/channel.ts';
import { PeerRateLimit } from '../transport/rate-limit.ts';
import { type GossipVerdict, type InboxContext, receiveFrame, receiveRecord, receiveUpdate } from './member-inbox.ts';
import type { MembershipOptions } from './membership-options.ts';
import { receivePushedRecord } from './record-push.ts';
import type { CoreInput, ToldUpdate } from './swim/types.ts';
import { SyncDigests } from './sync-digest.ts';

/**
 * The two ways membership traffic arrives, both into the inbox's checks: records and liveness
 * updates on the members topic (gossipsub, signed, published on change), and frames (probes, tells,
 * load reports, summaries, anti-entropy's table hash: sync-digest.ts, a member's own record pushed
 * to us: record-push.ts) on the long-lived probe streams, rate-limited per peer before parsing.
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
      m.type === 'heartbeat' ? receiveRecord(inbox, m) : m.type === 'update' ? topicUpdate(inbox, o.self, m) : 'ignore',
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
      if (!digests.receive(from, bytes) && !receivePushedRecord(inbox, from, bytes)) receiveFrame(inbox, from, bytes);
    },
    onReject: (from, reason) => o.onReject('frame', `${reason} from ${from}`),
  });
  return { topic, probes, digests };
}

/**
 * A liveness update on the members topic. A suspicion there was rerouted to its suspect (its
 * accuser could not dial it: swim/detours.ts): checked by all, applied by the suspect alone, which
 * refutes it to the pool; the others pass it on (an ignored message is not forwarded).
 */
function topicUpdate(inbox: InboxContext, self: string, m: MemberUpdate): GossipVerdict {
  if (m.update.kind !== 'suspect') return receiveUpdate(inbox, m);
  const ours = m.update.id === self;
  const step = (input: CoreInput) =>
    ours && input.type === 'update' ? inbox.step({ ...input, rerouted: true }) : undefined;
  return receiveUpdate({ ...inbox, step }, m);
}

/**
 * Carries a `tell` effect: the update to each recipient over the probe protocol. A send that
 * failed but was not refused (a dial timeout mid-storm, no address) goes back to the core as
 * `undelivered`, which may send it another way (swim/detours.ts); a refusal means nothing listens
 * there, and nothing else would reach it either. Anything else thrown is a defect, not the
 * network: logged as 'tell-failed', never swallowed.
 */
export function tellEach(
  { to, update }: { to: readonly string[]; update: ToldUpdate },
  send: (to: string, frame: ProbeFrame) => Promise<void>,
  step: (input: CoreInput) => void,
  now: () => number,
  log: (msg: string, fields: Record<string, unknown>) => void,
): void {
  for (const id of to) {
    send(id, { t: 'update', update }).catch((err: unknown) => {
      if (!(err instanceof SendError)) log('tell-failed', { peer: id, error: (err as Error).message });
      else if (err.failure !== 'refused') step({ type: 'undelivered', to: id, update, now: now() });
    });
  }
}
