import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { createPoolNode, type PoolNode } from '../../agent/p2p/node.ts';
import { generatePoolKey } from '../../shared/pool-key.ts';

/** Limits a test may set on its node; the defaults are the membership tests' (an agent's count, small messages). */
export interface PoolNodeLimits {
  maxConnections?: number;
  maxMessageBytes?: number;
  /** The node's identity key (default: a new one), for a test that signs as this node. */
  privateKey?: PrivateKey;
}

/** A started libp2p node of the agent's kind (pnet, noise, yamux, gossipsub) on a free loopback port. */
export async function startPoolNode(poolKey: Uint8Array, limits: PoolNodeLimits = {}): Promise<PoolNode> {
  const n = await createPoolNode({
    privateKey: limits.privateKey ?? (await generateKeyPair('Ed25519')),
    poolKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    maxConnections: limits.maxConnections ?? 16,
    maxMessageBytes: limits.maxMessageBytes ?? 1 << 16,
  });
  await n.start();
  return n;
}

/** The agent's libp2p node as createPoolNode builds it, never started (no socket): for its wiring. */
export async function unstartedNode(): Promise<PoolNode> {
  return createPoolNode({
    privateKey: await generateKeyPair('Ed25519'),
    poolKey: generatePoolKey(),
    listen: [],
    maxConnections: 16,
    maxMessageBytes: 1 << 16,
  });
}
