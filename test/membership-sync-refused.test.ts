import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, describe, expect, it } from 'vitest';
import { type LaunchedInstance, launcherRecordSource } from '../agent/membership/binding.ts';
import { defaultSwimConfig } from '../agent/membership/swim/config.ts';
import type { DigestEntry } from '../agent/membership/swim/types.ts';
import { pullTable, type Table } from '../agent/membership/sync.ts';
import type { PoolNode } from '../agent/p2p/node.ts';
import type { MemberEvent } from '../shared/wire/cluster.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';
import { waitFor } from './fixtures/wait.ts';
import { recordOf, startBoundMembership, startNodePair } from './helpers/node-pair.ts';
import { signedBy } from './helpers/records.ts';
import { RoguePeer } from './helpers/rogue-peer.ts';

/**
 * Issue 15, the binding gate on the sync path (real Membership on a libp2p node, local launcher
 * record as the binding source). A key holder X whose claim the launcher does not vouch for pushes
 * M a table holding R — a bound member M holds alive — dead, and Z — a launched member M never
 * heard of — alive, with Z's record. M changes nothing: R stays alive, Z does not appear. The same
 * table from Y, a bound member, brings Z in (the table path works here). Before, M kept only X's
 * own record out: Z joined and R died on X's word.
 */

const POOL = 'p';
const entry = (id: string, incarnation: number, state: DigestEntry['state'] = 'alive') => ({ id, incarnation, state });

/** A peer id that never runs, and its key: a relayed record of it must carry its signature (I4). */
async function newPeer(): Promise<{ id: string; key: PrivateKey }> {
  const key = await generateKeyPair('Ed25519');
  return { id: peerIdFromPrivateKey(key).toString(), key };
}

describe('a synced table from a peer that does not take part changes nothing (issue 15)', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  });

  it('a refused peer’s table neither kills a live member nor adds one; a bound peer’s does add', async () => {
    const { dir, m, y } = await startNodePair('poolparty-sync-refused-', stops);
    const [r, x] = [
      await RoguePeer.start(POOL, join(dir, 'pool.key')),
      await RoguePeer.start(POOL, join(dir, 'pool.key')),
    ];
    stops.push(
      () => r.stop(),
      () => x.stop(),
    );
    await r.answerProbes();
    const { id: z, key: zKey } = await newPeer();
    const [self, yId] = [m.peerId.toString(), y.peerId.toString()];
    const zRecord = signedBy(zKey, recordOf(z, 'i-z'));
    const launched = new Map<string, LaunchedInstance>(
      [
        ['i-m', self],
        ['i-r', r.peerId],
        ['i-y', yId],
        ['i-z', z],
      ].map(([id, peerId]) => [id as string, { id: id as string, state: 'running', peerId, cloud: 'web' }]),
    );
    const source = launcherRecordSource(() => launched);
    const events: MemberEvent[] = [];
    const rejects: string[] = [];
    const swim = { ...defaultSwimConfig(), probeInterval: 600_000 }; // M probes nobody: R is not heard from lately
    const onEvent = (e: MemberEvent) => events.push(e);
    const membership = await startBoundMembership(m, { pool: POOL, self, swim, source, rejects, onEvent }, stops);
    const push = async (from: PoolNode, t: Table) => {
      await from.dial(m.getMultiaddrs()[0]!);
      await pullTable(from, POOL, self, { hash: 'x', maxMembers: 16, held: undefined, mine: () => t });
    };
    const state = (id: string) => [...membership.known()].find((k) => k.record.peerId === id)?.liveness.state;

    await push(r.node, { entries: [entry(r.peerId, 0)], records: [recordOf(r.peerId, 'i-r', r.node)] });
    await waitFor('M holds R alive', () => state(r.peerId) === 'alive');

    // X claims an instance the launcher never made: held back. Its table: R dead, Z alive.
    const hostile = (own: Heartbeat): Table => ({
      entries: [entry(r.peerId, 1, 'dead'), entry(z, 0)],
      records: [own, zRecord],
    });
    await push(x.node, hostile(recordOf(x.peerId, 'i-x', x.node)));
    // M merged X's table (Z appears) or refused it (says so): either way it is done with it.
    const refusedX = () => rejects.some((d) => d.includes(`synced table from ${x.peerId}`));
    await waitFor('M took or refused X’s table', () => refusedX() || state(z) !== undefined);
    expect(state(r.peerId)).toBe('alive');
    expect(state(z)).toBeUndefined();
    expect(events.filter((e) => e.type !== 'member-joined')).toEqual([]);

    await push(y, { entries: [entry(yId, 0), entry(z, 0)], records: [recordOf(yId, 'i-y', y), zRecord] });
    await waitFor('M took Z from Y’s table', () => state(z) === 'alive');
    expect(state(r.peerId)).toBe('alive');
  }, 40_000);
});
