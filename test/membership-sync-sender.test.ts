import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, describe, expect, it } from 'vitest';
import { Membership } from '../agent/membership/membership.ts';
import { defaultSwimConfig } from '../agent/membership/swim/config.ts';
import type { DigestEntry } from '../agent/membership/swim/types.ts';
import { handleSync, ownTable, pullTable, type Table } from '../agent/membership/sync.ts';
import type { PoolNode } from '../agent/p2p/node.ts';
import { ensurePoolKey } from '../shared/pool-key.ts';
import type { MemberEvent } from '../shared/wire/cluster.ts';
import { type Heartbeat, WIRE_VERSION } from '../shared/wire/heartbeat.ts';
import { waitFor } from './fixtures/wait.ts';
import { startPoolNode } from './helpers/pool-node.ts';
import { signedBy } from './helpers/records.ts';
import { RoguePeer } from './helpers/rogue-peer.ts';

/**
 * Issue 15, the accuser rule on the shell's sync paths: a synced table comes from a peer the
 * connection authenticated, and the shell hands that sender to the core, so a table from a member
 * we hold dead (the other side of a healed partition) is that side's view, not evidence
 * (swim/peer-view.ts `doubts`). A real Membership (M) on a libp2p node; R, a raw peer that only
 * answers probes, is alive to M but not heard from lately (M probes nobody: probeInterval 10 min);
 * B, a raw sync server, is dead to M. B's table holds R dead one incarnation up. Whether M pulls
 * it (its reconnect to the lost B, as after a heal) or B pushes it back after pulling M's, R stays
 * alive: M checks R itself and R answers. Before the sender was passed, M declared R dead at once.
 */

const POOL = 'p';
const entry = (id: string, incarnation: number, state: DigestEntry['state'] = 'alive') => ({ id, incarnation, state });

function recordOf(peerId: string, node?: PoolNode): Heartbeat {
  const addrs = node ? node.getMultiaddrs().map((a) => a.toString().split('/p2p/')[0] as string) : [];
  const base = {
    v: WIRE_VERSION,
    type: 'heartbeat',
    peerId,
    addrs,
    monitor: '',
    version: 'test',
    startedAt: 1,
  } as const;
  return { ...base, instanceId: `i-${peerId.slice(-8)}`, cloud: 'web', seq: Date.now(), metrics: {} };
}

const tableBook = (t: Table) => ({ get: (id: string) => t.records.find((r) => r.peerId === id), all: () => t.records });

describe('the shell passes a synced table’s sender to the core (issue 15)', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  });

  /** M holding R alive (never heard from) and B dead, B serving `served()` on /sync/2. */
  async function healedView(served: () => Table) {
    const dir = await mkdtemp(join(tmpdir(), 'poolparty-sync-sender-'));
    stops.push(() => rm(dir, { recursive: true, force: true }));
    const { key } = await ensurePoolKey(join(dir, 'pool.key'));
    const bKey = await generateKeyPair('Ed25519'); // R relays B's record: B signs it (I4)
    const [m, b] = [await startPoolNode(key), await startPoolNode(key, { privateKey: bKey })];
    stops.push(
      async () => m.stop(),
      async () => b.stop(),
    );
    const r = await RoguePeer.start(POOL, join(dir, 'pool.key'));
    stops.push(() => r.stop());
    await r.answerProbes();
    const [self, bId] = [m.peerId.toString(), b.peerId.toString()];
    const events: MemberEvent[] = [];
    const membership = new Membership({
      node: m,
      pool: POOL,
      self,
      swim: { ...defaultSwimConfig(), probeInterval: 600_000 },
      now: Date.now,
      bootstrap: [],
      record: () => recordOf(self, m),
      maxMessageBytes: 1 << 16,
      onFrame: () => undefined,
      onEvent: (e) => events.push(e),
      onReject: () => undefined,
      onBytes: () => undefined,
      log: () => undefined,
      maxConnections: 16,
    });
    await membership.start();
    stops.push(() => membership.stop({ leave: false, grace: 0 }));
    await handleSync(
      b,
      { pool: POOL, self: bId, maxMembers: 16, own: () => ownTable(served().entries, tableBook(served())) },
      () => undefined,
    );
    // R pushes M a table with R and B alive (their records too), then one with B dead.
    const push = async (t: Table) => {
      await r.node.dial(m.getMultiaddrs()[0]!);
      await pullTable(r.node, POOL, self, { hash: 'x', maxMembers: 16, held: undefined, mine: () => t });
    };
    const records = [recordOf(r.peerId, r.node), signedBy(bKey, recordOf(bId, b))];
    await push({ entries: [entry(r.peerId, 0), entry(bId, 0)], records });
    await waitFor('M holds R and B', () => [...membership.known()].length === 2);
    await push({ entries: [entry(r.peerId, 0), entry(bId, 1, 'dead')], records });
    await waitFor('M holds B dead', () => events.some((e) => e.type === 'member-dead' && e.peerId === bId));
    const state = (id: string) => [...membership.known()].find((k) => k.record.peerId === id)?.liveness.state;
    return { membership, m, b, r, events, state };
  }

  /** The other side's table: R dead one incarnation up, and Z, a member M never heard of. */
  async function otherSide(r: string): Promise<{ table: Table; z: string }> {
    const zKey = await generateKeyPair('Ed25519');
    const z = peerIdFromPrivateKey(zKey).toString();
    return { z, table: { entries: [entry(r, 1, 'dead'), entry(z, 0)], records: [signedBy(zKey, recordOf(z))] } };
  }

  it('pulled from a member we hold dead (reconnect after a heal): its deaths are doubted', async () => {
    let served: Table = { entries: [], records: [] };
    const v = await healedView(() => served);
    const { table, z } = await otherSide(v.r.peerId);
    served = table;
    // M retries the lost B (every 2 s) and pulls its table: Z arriving shows the table was merged.
    await waitFor('M merged the table it pulled from B', () => v.state(z) === 'alive', { timeoutMs: 20_000 });
    expect(v.state(v.r.peerId)).toBe('alive');
    await new Promise((res) => setTimeout(res, 1000)); // M's check of R: R answers
    expect(v.state(v.r.peerId)).toBe('alive');
    expect(v.events.filter((e) => e.peerId === v.r.peerId).map((e) => e.type)).toEqual(['member-joined']);
  }, 40_000);

  it('pushed back by a member we hold dead: its deaths are doubted', async () => {
    const v = await healedView(() => ({ entries: [], records: [] }));
    const { table, z } = await otherSide(v.r.peerId);
    await v.b.dial(v.m.getMultiaddrs()[0]!);
    await pullTable(v.b, POOL, v.m.peerId.toString(), {
      hash: 'x',
      maxMembers: 16,
      held: undefined,
      mine: () => table,
    });
    await waitFor('M merged the table B pushed back', () => v.state(z) === 'alive');
    expect(v.state(v.r.peerId)).toBe('alive');
    await new Promise((res) => setTimeout(res, 1000));
    expect(v.state(v.r.peerId)).toBe('alive');
    expect(v.events.filter((e) => e.peerId === v.r.peerId).map((e) => e.type)).toEqual(['member-joined']);
  }, 40_000);
});
