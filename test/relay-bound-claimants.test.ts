import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { encode } from 'cborg';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { LoadExchange } from '../agent/load/exchange.ts';
import { RelayDown } from '../agent/load/relay-down.ts';
import type { Leader } from '../agent/load/relay-sign.ts';
import { signWith, Verifier } from '../agent/load/relay-sign.ts';
import { RelayUp } from '../agent/load/relay-up.ts';
import { decodeFrame, frameToWire, type ProbeFrame } from '../shared/wire/probe.ts';

/**
 * Issue 15, the failover race (ARCHITECTURE.md, "A report names a term, not a leader"): A and B
 * both claimed term T. M follows A, R follows B. M's report goes up A's tree through a parent that
 * is R (or B itself): before, B counted M's report as an acknowledgement of its own term. Four
 * real LoadExchanges with their RelayUp and RelayDown, every frame through the wire codec; the
 * tree is fixed per test (who each node's parent and children are), the clocks real.
 */

const T = 9;
type Name = 'a' | 'b' | 'r' | 'm';
type Node = { key: PrivateKey; id: string };
const nodes = {} as Record<Name, Node>;

beforeAll(async () => {
  for (const n of ['a', 'b', 'r', 'm'] as const) {
    const key = await generateKeyPair('Ed25519');
    nodes[n] = { key, id: peerIdFromPrivateKey(key).toString() };
  }
});

interface Tree {
  /** Each node's leader in term T (itself for a claimant). */
  follows: Record<Name, Name>;
  /** `parent[n][leader]`: n's parent in the tree rooted at that leader (else the leader). */
  parent: Partial<Record<Name, Partial<Record<Name, Name>>>>;
  /** `children[n][leader]`: n's children in the tree rooted at that leader. */
  children: Partial<Record<Name, Partial<Record<Name, Name[]>>>>;
}

/** `oldSeals`: every seal goes as a leader of the previous release sends it, without the flag. */
function pool(tree: Tree, oldSeals = false) {
  const ex = {} as Record<Name, LoadExchange>;
  const relays = {} as Record<Name, RelayUp>;
  const sent: Array<{ from: Name; to: Name; frame: ProbeFrame }> = [];
  const nameOf = (id: string) => (Object.keys(nodes) as Name[]).find((n) => nodes[n].id === id) as Name;
  const leaderName = (l: Leader) => nameOf(l.peerId);
  for (const n of ['a', 'b', 'r', 'm'] as const) {
    const self = nodes[n];
    const send = async (to: string, frame: ProbeFrame) => {
      sent.push({ from: n, to: nameOf(to), frame });
      const f =
        oldSeals && frame.t === 'summary' && frame.seal ? { ...frame, seal: { ...frame.seal, binds: false } } : frame;
      const back = decodeFrame(encode(frameToWire(f)));
      if (typeof back === 'string') throw new Error(back);
      ex[nameOf(to)].onReport(self.id, back);
    };
    const signing = { self: self.id, now: Date.now, sign: signWith(self.key), verifier: new Verifier() };
    relays[n] = new RelayUp({
      ...signing,
      relayDelay: 5,
      maxMembers: 16,
      leaseTimeout: 6_000,
      parent: (l) => nodes[tree.parent[n]?.[leaderName(l)] ?? leaderName(l)].id,
      isMember: () => true,
      send,
    });
    const down = new RelayDown({
      ...signing,
      children: (l) => (tree.children[n]?.[leaderName(l)] ?? []).map((c) => nodes[c].id),
      send,
    });
    ex[n] = new LoadExchange({
      self: () => self.id,
      now: Date.now,
      loadInterval: 2_000,
      leader: () => ({ peerId: nodes[tree.follows[n]].id, term: T }),
      metrics: () => ({ cpu: n === 'm' ? 0.75 : 0.1 }),
      send,
      memberIds: () => Object.values(nodes).map((x) => x.id),
      maxMembers: 16,
      relay: relays[n],
      down,
    });
  }
  const acks = (n: Name) => ex[n].book.ackers(T, Date.now(), 6_000).map(nameOf).sort();
  return { ex, relays, sent, acks };
}

/** M follows A; R follows B; A's tree reaches M through R, B's tree reaches R directly. */
const viaR: Tree = {
  follows: { a: 'a', b: 'b', r: 'b', m: 'a' },
  parent: { m: { a: 'r' } },
  children: { a: { a: ['m'] }, b: { b: ['r'] } },
};

describe('two claimants of one term', () => {
  it('B does not count M, who follows A, through a relay R that follows B; A counts M', async () => {
    const p = pool(viaR);
    // Each claimant's first summary, sealed and flagged, reaches its followers: they bind.
    await Promise.all([p.ex.a.tick(), p.ex.b.tick()]);
    await vi.waitFor(() =>
      expect([p.relays.m.bindsTo(nodes.a.id), p.relays.r.bindsTo(nodes.b.id)]).toEqual([true, true]),
    );
    await p.ex.m.tick();
    // R passes M's report on to B (its leader, term T as M's) with its own direct part.
    await vi.waitFor(() => expect(p.sent.some((s) => s.from === 'r' && s.to === 'b')).toBe(true));
    const up = p.sent.find((s) => s.from === 'r' && s.to === 'b')?.frame as Extract<ProbeFrame, { t: 'load' }>;
    expect(up.relayed?.map((x) => [x.origin, x.term])).toEqual([[nodes.m.id, T]]);
    await new Promise((r) => setTimeout(r, 50));
    expect(p.acks('b')).toEqual(['r']);
    // The same report at A (as when R's send fails and M's frame goes to A itself) counts.
    expect(await p.relays.a.accept(up.relayed ?? [], p.ex.a.book)).toBe(1);
    expect(p.acks('a')).toEqual(['m']);
  });

  it('B as M’s parent in A’s tree books M’s metrics but counts neither its direct part nor its report', async () => {
    const p = pool({
      follows: { a: 'a', b: 'b', r: 'b', m: 'a' },
      parent: { m: { a: 'b' } },
      children: { a: { a: ['m'] } },
    });
    await p.ex.a.tick();
    await vi.waitFor(() => expect(p.relays.m.bindsTo(nodes.a.id)).toBe(true));
    await p.ex.m.tick();
    await new Promise((r) => setTimeout(r, 50));
    const direct = p.sent.find((s) => s.from === 'm' && s.to === 'b')?.frame;
    expect(direct).toMatchObject({ t: 'load', term: T, leader: nodes.a.id });
    expect(p.acks('b')).toEqual([]);
    expect(p.ex.b.book.get(nodes.m.id)).toMatchObject({ metrics: { cpu: 0.75 }, term: 0 });
  });

  it('before M’s first flagged seal its report is plain and B still counts it (the window left)', async () => {
    const p = pool(viaR);
    await p.ex.m.tick();
    await new Promise((r) => setTimeout(r, 50));
    expect(p.relays.m.bindsTo(nodes.a.id)).toBe(false);
    expect(p.acks('b')).toEqual(['m', 'r']);
  });

  it('a seal without the flag (a leader of the previous release) leaves its followers signing plain', async () => {
    const p = pool(viaR, true);
    await p.ex.a.tick();
    // M took the seal (it keeps the leader's windows from it) and still signs plain.
    await vi.waitFor(() => expect(p.ex.m.leaderWindows()).not.toBeNull());
    expect(p.relays.m.bindsTo(nodes.a.id)).toBe(false);
  });
});
