import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { createLibp2p, type Libp2p } from 'libp2p';

export interface DialerNodeOptions {
  /** The pool's pre-shared key (swarm key v1 bytes): without it no member completes a handshake. */
  poolKey: Uint8Array;
  /** Connections it may hold at once; a dialer talks to one or two peers. Default 4. */
  maxConnections?: number;
  /** Per dial, before the protocol's own timeout (ms). Default 5000, as the agents use. */
  dialTimeout?: number;
}

/**
 * A short-lived, dial-only peer of the pool's private network, for a laptop that hands something
 * to one member and leaves: TCP + pnet + noise + yamux, like the agents, with a fresh Ed25519
 * identity, no listen address and no services (no gossipsub, identify or ping), so it never
 * joins the mesh or shows up as a member. Returned started; the caller stops it.
 */
export async function createDialerNode(opts: DialerNodeOptions): Promise<Libp2p> {
  return createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: [] },
    transports: [tcp()],
    connectionProtector: preSharedKey({ psk: opts.poolKey }),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: opts.maxConnections ?? 4, dialTimeout: opts.dialTimeout ?? 5_000 },
  });
}
