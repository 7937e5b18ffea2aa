import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { encode } from 'cborg';
import { beforeAll, describe, expect, it } from 'vitest';
import { LoadExchange } from '../agent/load/exchange.ts';
import { RelayDown } from '../agent/load/relay-down.ts';
import { signWith, Verifier } from '../agent/load/relay-sign.ts';
import { decodeFrame, frameToWire, type SealedSummary } from '../shared/wire/probe.ts';

/**
 * The leader's summary down the relay tree (issue 13): sealed once by the leader, passed on
 * verbatim by every member to its tree children, taken only when it verifies as the leader the
 * member follows, in its term, and is not older than the last one taken.
 */

let leader: { key: PrivateKey; id: string };
let other: { key: PrivateKey; id: string };
beforeAll(async () => {
  for (const which of ['leader', 'other'] as const) {
    const key = await generateKeyPair('Ed25519');
    const n = { key, id: peerIdFromPrivateKey(key).toString() };
    if (which === 'leader') leader = n;
    else other = n;
  }
});

function down(self: { key: PrivateKey; id: string }, children: string[], now = () => 1_000) {
  const sent: Array<{ to: string; frame: SealedSummary }> = [];
  const d = new RelayDown({
    self: self.id,
    now,
    sign: signWith(self.key),
    verifier: new Verifier(),
    children: () => children,
    send: async (to, frame) => void sent.push({ to, frame }),
  });
  return { d, sent };
}
const rows = [{ peerId: 'm1', ageMs: 5, metrics: { cpu: 0.5 } }];
/** Through the codec, as a member receives it. */
const wire = (f: SealedSummary) => decodeFrame(encode(frameToWire(f))) as SealedSummary;

describe('sealed summaries down the tree', () => {
  it('the leader seals once and sends to its children; a member takes it and passes it on, hop + 1', async () => {
    const l = down(leader, ['c1', 'c2']);
    const L = { peerId: leader.id, term: 3 };
    expect(l.d.due(L, 5_000, false)).toBe(true);
    await l.d.publish(L, [{ t: 'summary', term: 3, rows }]);
    expect(l.sent.map((s) => s.to)).toEqual(['c1', 'c2']);
    expect(l.d.due(L, 5_000, false)).toBe(false);
    const m = down(other, ['g1']);
    const frame = wire(l.sent[0]!.frame);
    expect(await m.d.take(frame, L)).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(m.sent.map((s) => [s.to, s.frame.seal?.hop])).toEqual([['g1', 1]]);
    // The same frame again (from another relay) is neither taken nor passed on twice.
    expect(await m.d.take(frame, L)).toBe(false);
  });

  it('a summary sealed by anyone but the leader followed, or in another term, is not taken', async () => {
    const L = { peerId: leader.id, term: 3 };
    const forger = down(other, ['x']);
    await forger.d.publish({ peerId: other.id, term: 3 }, [{ t: 'summary', term: 3, rows }]);
    const m = down(other, []);
    expect(await m.d.take(wire(forger.sent[0]!.frame), L)).toBe(false);
    const l = down(leader, ['x']);
    await l.d.publish({ peerId: leader.id, term: 2 }, [{ t: 'summary', term: 2, rows }]);
    expect(await m.d.take(wire(l.sent[0]!.frame), L)).toBe(false);
  });

  it('an older seal than the last taken is dropped (a relay replaying old summaries)', async () => {
    let now = 1_000;
    const l = down(leader, ['x'], () => now);
    const L = { peerId: leader.id, term: 3 };
    await l.d.publish(L, [{ t: 'summary', term: 3, rows }]);
    now = 9_000;
    await l.d.publish(L, [{ t: 'summary', term: 3, rows }]);
    const m = down(other, []);
    expect(await m.d.take(wire(l.sent[1]!.frame), L)).toBe(true);
    expect(await m.d.take(wire(l.sent[0]!.frame), L)).toBe(false);
  });

  it('a follower’s exchange takes a sealed summary from a relay, not only from the leader', async () => {
    const seal = down(leader, ['f']);
    await seal.d.publish({ peerId: leader.id, term: 3 }, [{ t: 'summary', term: 3, rows }]);
    const m = down(other, []);
    const ex = new LoadExchange({
      self: () => other.id,
      now: () => 2_000,
      loadInterval: 2_000,
      leader: () => ({ peerId: leader.id, term: 3 }),
      metrics: () => ({}),
      send: async () => undefined,
      memberIds: () => [leader.id, 'm1'],
      maxMembers: 10,
      down: m.d,
    });
    ex.onReport('some-relay', wire(seal.sent[0]!.frame));
    await new Promise((r) => setTimeout(r, 50));
    expect(ex.book.get('m1')?.metrics).toEqual({ cpu: 0.5 });
    // Unsealed from the relay: not the leader, dropped as before.
    ex.onReport('some-relay', { t: 'summary', term: 3, rows: [{ peerId: 'm2', ageMs: 0, metrics: {} }] });
    expect(ex.book.get('m2')).toBeUndefined();
  });
});
