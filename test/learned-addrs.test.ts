import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { AddrLearner, RELEARN_MS } from '../agent/membership/learned-addrs.ts';
import { memberRecord } from './helpers/records.ts';

/**
 * A member's addresses go to the peer store when they change (or every RELEARN_MS, so the store
 * keeps them), not with every newer record of the member (agent/membership/learned-addrs.ts).
 */

const peer = async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
const A1 = '/ip4/127.0.0.2/tcp/8643';
const A2 = '/ip4/127.0.0.3/tcp/8643';

function learner(max = 10) {
  let now = 1_000;
  let fail = false;
  const merged: Array<{ id: string; addrs: string[] }> = [];
  const peerStore = {
    merge: async (id: { toString(): string }, data: { multiaddrs?: Array<{ toString(): string }> }) => {
      merged.push({ id: id.toString(), addrs: (data.multiaddrs ?? []).map(String) });
      if (fail) throw new Error('datastore failed');
      return {} as never;
    },
  };
  const l = new AddrLearner({ node: { peerStore } as never, self: 'self', max, now: () => now });
  return {
    l,
    merged,
    advance: (ms: number) => {
      now += ms;
    },
    failing: (f: boolean) => {
      fail = f;
    },
  };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('AddrLearner', () => {
  it('merges a member’s addresses once per change, not per newer record', async () => {
    const { l, merged } = learner();
    const m = await peer();
    l.learn(memberRecord(m, { seq: 1, addrs: [A1] }));
    l.learn(memberRecord(m, { seq: 2, addrs: [A1], term: 3 }));
    l.learn(memberRecord(m, { seq: 3, addrs: [A1], leads: 3 }));
    expect(merged).toEqual([{ id: m, addrs: [A1] }]);
    l.learn(memberRecord(m, { seq: 4, addrs: [A1, A2] }));
    l.learn(memberRecord(m, { seq: 5, addrs: [A2] }));
    expect(merged.map((x) => x.addrs)).toEqual([[A1], [A1, A2], [A2]]);
  });

  it('merges the same addresses again after RELEARN_MS (the peer store drops addresses not seen for an hour)', async () => {
    const { l, merged, advance } = learner();
    const m = await peer();
    l.learn(memberRecord(m, { seq: 1, addrs: [A1] }));
    advance(RELEARN_MS - 1);
    l.learn(memberRecord(m, { seq: 2, addrs: [A1] }));
    expect(merged).toHaveLength(1);
    advance(1);
    l.learn(memberRecord(m, { seq: 3, addrs: [A1] }));
    expect(merged).toHaveLength(2);
    expect(RELEARN_MS).toBeLessThan(3_600_000);
  });

  it('skips ourselves, records without addresses and malformed ones (without throwing)', async () => {
    const { l, merged } = learner();
    l.learn(memberRecord('self', { addrs: [A1] }));
    l.learn(memberRecord(await peer(), { addrs: [] }));
    expect(() => l.learn(memberRecord('not-a-peer-id', { addrs: [A1] }))).not.toThrow();
    expect(() => l.learn(memberRecord('12D3KooWx', { addrs: ['not an address'] }))).not.toThrow();
    expect(merged).toEqual([]);
  });

  it('tries again with the next record when a merge failed', async () => {
    const { l, merged, failing } = learner();
    const m = await peer();
    failing(true);
    l.learn(memberRecord(m, { seq: 1, addrs: [A1] }));
    await settle();
    failing(false);
    l.learn(memberRecord(m, { seq: 2, addrs: [A1] }));
    l.learn(memberRecord(m, { seq: 3, addrs: [A1] }));
    expect(merged).toHaveLength(2);
  });

  it('notes at most `max` members: the least recently merged is forgotten first', async () => {
    const { l, merged } = learner(2);
    const [a, b, c] = [await peer(), await peer(), await peer()];
    for (const id of [a, b, c]) l.learn(memberRecord(id, { addrs: [A1] }));
    l.learn(memberRecord(c, { seq: 2, addrs: [A1] })); // noted: no merge
    l.learn(memberRecord(b, { seq: 2, addrs: [A1] })); // noted: no merge
    l.learn(memberRecord(a, { seq: 2, addrs: [A1] })); // forgotten: merged again
    expect(merged.map((x) => x.id)).toEqual([a, b, c, a]);
  });
});
