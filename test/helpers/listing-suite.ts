import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Machine } from '../fixtures/ec2-instances.ts';
import { type ListingPool, startListingPool } from './ec2-listing-agents.ts';
import { RoguePeer } from './rogue-peer.ts';

/**
 * What a listing-binding file on real agents shares (call inside a describe): one pool of an ec2
 * cloud without identityCertificate (ec2-listing-agents.ts), started before the file's cases and
 * closed after them with every key holder a case started.
 */
export function listingSuite(
  name: string,
  instances: { min: number; max: number },
): {
  pool: () => ListingPool;
  /** A key holder that answers probes and is in the members topic's mesh of `agents`; it claims nothing yet. */
  keyHolder: (agents: Machine[]) => Promise<RoguePeer>;
} {
  let p: ListingPool | undefined;
  const holders: RoguePeer[] = [];
  beforeAll(async () => {
    p = await startListingPool(name, instances);
  }, 120_000);
  afterAll(async () => {
    await Promise.allSettled(holders.map((h) => h.stop()));
    await p?.close();
  }, 60_000);
  const pool = () => {
    if (!p) throw new Error('listing suite: no pool (beforeAll failed)');
    return p;
  };
  return {
    pool,
    keyHolder: async (agents) => {
      const h = await RoguePeer.start('web', join(pool().pool.dir, 'laptop', 'pool.key'));
      holders.push(h);
      await h.answerProbes();
      await h.join(agents.map((m) => `/ip4/${m.privateIp}/tcp/${pool().pool.p2pPort}`));
      return h;
    },
  };
}
