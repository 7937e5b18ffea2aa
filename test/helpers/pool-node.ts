import { generateKeyPair } from '@libp2p/crypto/keys';
import { createPoolNode, type PoolNode } from '../../agent/p2p/node.ts';

/** A started libp2p node of the agent's kind (pnet, noise, yamux, gossipsub) on a free loopback port. */
export async function startPoolNode(poolKey: Uint8Array): Promise<PoolNode> {
  const n = await createPoolNode({
    privateKey: await generateKeyPair('Ed25519'),
    poolKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    maxConnections: 16,
    maxMessageBytes: 1 << 16,
  });
  await n.start();
  return n;
}
