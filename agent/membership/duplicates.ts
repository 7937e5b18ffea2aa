import type { Connection, PeerId } from '@libp2p/interface';
import type { PoolNode } from '../p2p/node.ts';

/**
 * A second connection to a peer younger than this is left alone (ms): both ends of a new ring
 * edge dial each other in the same round, and the frames and streams opened on either in the
 * meantime finish on it.
 */
export const DUPLICATE_GRACE_MS = 5_000;

/**
 * Streams that last as long as their connection and reopen on another one: the probe channel
 * (its next frame opens a new stream), gossipsub (reattachGossip), identify and ping. Any other
 * stream (a sync, a bundle transfer) keeps a duplicate open until it ends or the budget's grace
 * (neighbours.ts) has passed.
 */
const LONG_LIVED = /\/probe\/\d+$|^\/meshsub\/|^\/floodsub\/|^\/ipfs\/(id|ping)\//;

/**
 * The connection both ends keep when they hold several to each other, without talking: the
 * oldest of those dialled by the smaller peer id (outbound here when we are the smaller), else
 * the oldest.
 */
export function keptConnection(self: string, peer: string, conns: readonly Connection[]): Connection | undefined {
  const keepDir = self < peer ? 'outbound' : 'inbound';
  const byAge = [...conns].sort((a, b) => a.timeline.open - b.timeline.open);
  return byAge.find((c) => c.direction === keepDir) ?? byAge[0];
}

/**
 * Closes every connection to a peer but the kept one, once it is past DUPLICATE_GRACE_MS and
 * carries only long-lived streams (or is past `busyGraceMs`). Gossipsub opened its stream to
 * the peer on one connection only (the registrar tells it of a peer once): when that was the
 * closed one, it is reattached to the kept connection.
 */
export function closeDuplicates(node: PoolNode, self: string, now: number, busyGraceMs: number): void {
  const byPeer = new Map<string, Connection[]>();
  for (const c of node.getConnections()) {
    if (c.status !== 'open') continue;
    const id = c.remotePeer.toString();
    byPeer.set(id, [...(byPeer.get(id) ?? []), c]);
  }
  for (const [id, conns] of byPeer) {
    if (conns.length < 2) continue;
    const kept = keptConnection(self, id, conns);
    for (const c of conns) {
      const age = now - c.timeline.open;
      if (c === kept || age < DUPLICATE_GRACE_MS) continue;
      const busy = c.streams.some((s) => !LONG_LIVED.test(s.protocol ?? ''));
      if (busy && age < busyGraceMs) continue;
      void c
        .close()
        .catch((err: Error) => c.abort(err))
        .then(() => reattachGossip(node, c.remotePeer));
    }
  }
}

/** How long after a duplicate closed its peer's gossipsub streams are checked (ms): the reads on it end first. */
const REATTACH_DELAY_MS = 500;

/**
 * Reattaches gossipsub whenever a connection closes while another to the same peer stays open,
 * whichever end closed it: the end whose gossipsub stream was on the kept connection sees no
 * reason to open a new one, and gossipsub drops a peer whose inbound stream broke. Returns the
 * function that stops watching.
 */
export function watchDuplicates(node: PoolNode): () => void {
  const onClose = (e: CustomEvent<Connection>): void => {
    const peer = e.detail.remotePeer;
    if (!node.getConnections(peer).some((c) => c !== e.detail && c.status === 'open')) return;
    setTimeout(() => reattachGossip(node, peer), REATTACH_DELAY_MS).unref();
  };
  node.addEventListener('connection:close', onClose);
  return () => node.removeEventListener('connection:close', onClose);
}

/** The parts of gossipsub's implementation behind its interface that a reattachment needs. */
interface GossipInternals {
  streamsOutbound: Map<string, unknown>;
  onPeerConnected(peer: PeerId, conn: Connection): void;
}

/** Gives gossipsub an outbound stream to `peer` on its open connection if it has none. */
export function reattachGossip(node: PoolNode, peer: PeerId): void {
  const pubsub = node.services.pubsub as unknown as GossipInternals;
  const conn = node.getConnections(peer).find((c) => c.status === 'open');
  if (!conn || pubsub.streamsOutbound.has(peer.toString())) return;
  // What the registrar calls on a peer's first connection: adds the peer, opens the stream.
  pubsub.onPeerConnected(peer, conn);
}
