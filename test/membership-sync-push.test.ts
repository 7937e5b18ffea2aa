import { afterEach, describe, expect, it } from 'vitest';
import type { DigestEntry } from '../agent/membership/swim/types.ts';
import { handleSync, newerThan, ownTable, pullTable, type Table } from '../agent/membership/sync.ts';
import type { PoolNode } from '../agent/p2p/node.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { type Heartbeat, WIRE_VERSION } from '../shared/wire/heartbeat.ts';
import { waitFor } from './fixtures/wait.ts';
import { startPoolNode } from './helpers/pool-node.ts';

/**
 * Push-pull anti-entropy (issue 13): a requester whose table differs from the responder's sends
 * back, on the same sync stream, what it holds newer. A member only a few views hold (its
 * announcements lost in a start storm) then spreads with every sync that touches one of them,
 * and a joiner's seed learns the joiner from the join pull itself.
 */

const entry = (id: string, incarnation: number, state: DigestEntry['state'] = 'alive'): DigestEntry => ({
  id,
  incarnation,
  state,
});

function record(peerId: string, seq: number): Heartbeat {
  return {
    v: WIRE_VERSION,
    type: 'heartbeat',
    peerId,
    seq,
    instanceId: `i-${peerId.slice(-6)}`,
    cloud: 'web',
    addrs: [],
    monitor: '',
    version: 'test',
    startedAt: 1,
    metrics: {},
  };
}

describe('newerThan: what a requester pushes back', () => {
  it('keeps entries the other side lacks or holds older by SWIM precedence, and newer records', () => {
    const mine: Table = {
      entries: [entry('a', 1), entry('b', 2), entry('c', 1, 'dead'), entry('d', 5)],
      records: [record('a', 10), record('b', 4), record('d', 1)],
    };
    const theirs: Table = {
      entries: [entry('a', 1), entry('b', 1), entry('c', 1, 'suspect'), entry('d', 6)],
      records: [record('a', 10), record('b', 5)],
    };
    const out = newerThan(mine, theirs);
    // b: higher incarnation; c: dead beats suspect at the same incarnation; d: theirs is newer.
    expect(out.entries.map((e) => e.id)).toEqual(['b', 'c']);
    // d's record is missing on their side; a's is the same, b's older.
    expect(out.records.map((r) => r.peerId)).toEqual(['d']);
  });

  it('pushes nothing when the other side already holds all of it', () => {
    const t: Table = { entries: [entry('a', 3), entry('b', 1, 'left')], records: [record('a', 7)] };
    expect(newerThan(t, t)).toEqual({ entries: [], records: [] });
  });
});

describe('push-pull on the sync protocol (real libp2p nodes)', () => {
  const nodes: PoolNode[] = [];
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.stop();
  });

  async function node(poolKey: Uint8Array): Promise<PoolNode> {
    const n = await startPoolNode(poolKey);
    nodes.push(n);
    return n;
  }

  it('a member that missed a join learns it from a neighbour that pulls from it, and the puller gets its table', async () => {
    const key = generatePoolKey();
    const [member, puller] = [await node(key), await node(key)];
    const self = member.peerId.toString();
    const pullerId = puller.peerId.toString();
    const joiner = '12D3KooWJoinerWhoseAnnouncementsWereAllLost0000000000';
    // The member holds itself and a third member; the puller also holds the joiner (its record too).
    const memberTable: Table = { entries: [entry(self, 0), entry('third', 2)], records: [record(self, 3)] };
    const pullerTable: Table = {
      entries: [entry(pullerId, 1), entry(self, 0), entry('third', 2), entry(joiner, 0)],
      records: [record(self, 3), record(joiner, 9)],
    };
    const book = (t: Table) => ({
      get: (id: string) => t.records.find((r) => r.peerId === id),
      all: () => t.records,
    });
    const pushedBack: Table[] = [];
    await handleSync(
      member,
      { pool: 'p', self, maxMembers: 16, own: () => ownTable(memberTable.entries, book(memberTable)) },
      () => undefined,
      (t) => pushedBack.push(t),
    );
    await puller.dial(member.getMultiaddrs()[0]!);
    const mine = ownTable(pullerTable.entries, book(pullerTable));
    const pulled = await pullTable(puller, 'p', self, {
      hash: mine.hash,
      maxMembers: 16,
      held: undefined,
      mine: mine.table,
    });
    expect(pulled?.entries).toEqual(memberTable.entries);
    const back = await waitFor('the puller to push back what the member lacks', () => pushedBack[0]);
    expect(back.entries.map((e) => e.id).sort()).toEqual([joiner, pullerId].sort());
    expect(back.records.map((r) => r.peerId)).toEqual([joiner]);
  }, 30_000);

  it('an idle sync (same hash) pushes nothing back', async () => {
    const key = generatePoolKey();
    const [member, puller] = [await node(key), await node(key)];
    const self = member.peerId.toString();
    const t: Table = { entries: [entry(self, 0)], records: [] };
    const own = () => ownTable(t.entries, { get: () => undefined, all: () => [] });
    const pushedBack: Table[] = [];
    let served = 0;
    await handleSync(
      member,
      {
        pool: 'p',
        self,
        maxMembers: 16,
        own: () => {
          served++;
          return own();
        },
      },
      () => undefined,
      (x) => pushedBack.push(x),
    );
    await puller.dial(member.getMultiaddrs()[0]!);
    const pulled = await pullTable(puller, 'p', self, {
      hash: own().hash,
      maxMembers: 16,
      held: undefined,
      mine: () => t,
    });
    expect(pulled).toBeNull();
    expect(served).toBe(1);
    // A second sync on the same connection is served too: the first left no stream half open.
    await pullTable(puller, 'p', self, { hash: own().hash, maxMembers: 16, held: undefined, mine: () => t });
    expect(served).toBe(2);
    expect(pushedBack).toEqual([]);
  }, 30_000);
});
