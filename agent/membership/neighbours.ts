import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Heartbeat } from '../../shared/wire/heartbeat.ts';
import type { PoolNode } from '../p2p/node.ts';

/** Puts a member's record addresses in the peer store, so it can be dialled by peer id. */
export function learnAddrs(node: PoolNode, self: string, r: Heartbeat): void {
  if (r.peerId === self || r.addrs.length === 0) return;
  try {
    void node.peerStore
      .merge(peerIdFromString(r.peerId), { multiaddrs: r.addrs.map((a) => multiaddr(a)) })
      .catch(() => undefined);
  } catch {
    // A malformed address in a valid-looking record: the member stays undialable.
  }
}

/**
 * Connections to exactly the ring neighbours and the protected peers (the leader): missing ones
 * are dialled (when their record says where), others are closed past the connection budget.
 */
export function keepConnections(
  node: PoolNode,
  keep: ReadonlySet<string>,
  dialable: (id: string) => boolean,
  maxConnections: number,
): void {
  const connected = new Set(node.getConnections().map((c) => c.remotePeer.toString()));
  for (const id of keep) {
    if (!connected.has(id) && dialable(id))
      void node.dial(peerIdFromString(id), { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
  }
  let excess = connected.size - maxConnections;
  for (const id of connected) {
    if (excess <= 0) break;
    if (keep.has(id)) continue;
    excess--;
    void node.hangUp(peerIdFromString(id)).catch(() => undefined);
  }
}
