import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BindingSource } from '../../agent/membership/binding.ts';
import { Membership } from '../../agent/membership/membership.ts';
import type { SwimConfig } from '../../agent/membership/swim/config.ts';
import type { PoolNode } from '../../agent/p2p/node.ts';
import { ensurePoolKey } from '../../shared/pool-key.ts';
import type { MemberEvent } from '../../shared/wire/cluster.ts';
import type { Heartbeat } from '../../shared/wire/heartbeat.ts';
import { startPoolNode } from './pool-node.ts';
import { memberRecord } from './records.ts';

/**
 * Two started pool nodes M and Y sharing a fresh pool key in a scratch dir; `stops` gets what
 * undoes it (the caller's afterEach runs them in reverse).
 */
export async function startNodePair(
  prefix: string,
  stops: (() => Promise<unknown>)[],
): Promise<{ dir: string; m: PoolNode; y: PoolNode }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  stops.push(() => rm(dir, { recursive: true, force: true }));
  const { key } = await ensurePoolKey(join(dir, 'pool.key'));
  const [m, y] = [await startPoolNode(key), await startPoolNode(key)];
  stops.push(
    async () => m.stop(),
    async () => y.stop(),
  );
  return { dir, m, y };
}

/** A member record for `peerId` on `instanceId`, listing `node`'s listen addresses (none without one). */
export function recordOf(peerId: string, instanceId: string, node?: PoolNode): Heartbeat {
  const addrs = node ? node.getMultiaddrs().map((a) => a.toString().split('/p2p/')[0] as string) : [];
  return memberRecord(peerId, { instanceId, addrs, version: 'test', startedAt: 1, seq: Date.now() });
}

/**
 * M's Membership, started on `m` as `self` (instance i-m) with the binding `source`; what it
 * rejects goes to `rejects`, its events to `onEvent`. `stops` gets its stop.
 */
export async function startBoundMembership(
  m: PoolNode,
  o: {
    pool: string;
    self: string;
    swim: SwimConfig;
    source: BindingSource;
    rejects: string[];
    onEvent?: (e: MemberEvent) => void;
  },
  stops: (() => Promise<unknown>)[],
): Promise<Membership> {
  const membership = new Membership({
    node: m,
    pool: o.pool,
    self: o.self,
    swim: o.swim,
    now: Date.now,
    bootstrap: [],
    record: () => recordOf(o.self, 'i-m', m),
    maxMessageBytes: 1 << 16,
    onFrame: () => undefined,
    onEvent: o.onEvent ?? (() => undefined),
    onReject: (reason, detail) => o.rejects.push(`${reason}: ${detail}`),
    onBytes: () => undefined,
    log: () => undefined,
    maxConnections: 16,
    binding: () => o.source,
  });
  await membership.start();
  stops.push(() => membership.stop({ leave: false, grace: 0 }));
  return membership;
}
