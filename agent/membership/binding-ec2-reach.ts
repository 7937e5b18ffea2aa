import { peerIdFromString } from '@libp2p/peer-id';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import type { PoolNode } from '../p2p/node.ts';
import type { Located } from './binding-ec2-listing-verdict.ts';

/**
 * Where a peer is, as this node's connections see it (binding by listing): the remote addresses
 * of direct connections, authenticated as the peer by the handshake, and — when none is at the
 * listed address — one dial to that address, which tells who answers there. Not the addresses
 * the peer gossips: those are its word.
 */

/** The remote IPs of this node's direct (not relayed) connections with `peerId`. */
export function connectedFrom(node: PoolNode, peerId: string): string[] {
  let id: ReturnType<typeof peerIdFromString>;
  try {
    id = peerIdFromString(peerId);
  } catch {
    return [];
  }
  const ips = node
    .getConnections(id)
    .filter((c) => c.limits === undefined)
    .map((c) => ipOf(c.remoteAddr))
    .filter((ip): ip is string => ip !== undefined);
  return [...new Set(ips)];
}

/**
 * Dials `ip`:`port` on a new connection (even when one with the peer exists elsewhere) and reports
 * which peer the handshake authenticated there; the connection is closed again if it is new.
 */
export async function locatePeer(
  node: PoolNode,
  peerId: string,
  ip: string,
  port: number,
  timeoutMs: number,
): Promise<Located> {
  const before = new Set(node.getConnections().map((c) => c.id));
  try {
    const family = ip.includes(':') ? 'ip6' : 'ip4';
    const conn = await node.dial(multiaddr(`/${family}/${ip}/tcp/${port}`), {
      signal: AbortSignal.timeout(timeoutMs),
      force: true,
    });
    const remote = conn.remotePeer.toString();
    if (!before.has(conn.id)) void conn.close().catch(() => undefined);
    return remote === peerId ? { kind: 'at' } : { kind: 'other', peerId: remote };
  } catch (err) {
    return { kind: 'unreachable', error: (err as Error)?.message ?? String(err) };
  }
}

function ipOf(addr: Multiaddr): string | undefined {
  const [, family, ip] = addr.toString().split('/');
  return (family === 'ip4' || family === 'ip6') && ip ? ip : undefined;
}
