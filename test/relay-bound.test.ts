import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { beforeAll, describe, expect, it } from 'vitest';
import { LoadBook } from '../agent/load/book.ts';
import { LoadExchange } from '../agent/load/exchange.ts';
import { signWith, Verifier } from '../agent/load/relay-sign.ts';
import { RelayUp } from '../agent/load/relay-up.ts';
import { boundBytes, reportBody, type SignedReport } from '../shared/wire/relay-report.ts';

/**
 * Issue 15, a report names its leader: two members that both claimed term T in a failover race
 * must not count each other's followers. A relayed report bound to leader A (its signature over
 * boundBytes(body, A)) counts at A only; a plain one (a previous release, or a follower before its
 * first seal saying leaders count bound reports) counts by its term as before, until its origin
 * has bound one; a direct part naming another leader is metrics, no acknowledgement. Real keys,
 * real RelayUp, LoadBook and LoadExchange.
 */

const NOW = 1_700_000_000_000;
const T = 7;
const LEASE = 6_000;
type Node = { key: PrivateKey; id: string };
const nodes: Record<'a' | 'b' | 'm', Node> = {} as never;

beforeAll(async () => {
  for (const n of ['a', 'b', 'm'] as const) {
    const key = await generateKeyPair('Ed25519');
    nodes[n] = { key, id: peerIdFromPrivateKey(key).toString() };
  }
});

/** The agent's Verifier, counting its checks (the cost a leader pays per report). */
class CountingVerifier extends Verifier {
  calls = 0;
  override async verify(peer: string, bytes: Uint8Array, sig: Uint8Array): Promise<boolean> {
    this.calls++;
    return super.verify(peer, bytes, sig);
  }
}

function relayUp(self: Node) {
  const verifier = new CountingVerifier();
  const relay = new RelayUp({
    self: self.id,
    now: () => NOW,
    sign: signWith(self.key),
    verifier,
    relayDelay: 10,
    maxMembers: 100,
    leaseTimeout: LEASE,
    parent: (leader) => leader.peerId,
    isMember: () => true,
    send: async () => undefined,
  });
  return { relay, verifier };
}

/** A leader's side: its RelayUp, its book, the acknowledgements of term T and the checks made. */
function leader(self: Node) {
  const { relay, verifier } = relayUp(self);
  const book = new LoadBook(100);
  const take = async (...rs: SignedReport[]) => {
    const before = verifier.calls;
    const counted = await relay.accept(rs, book);
    return { counted, checks: verifier.calls - before };
  };
  return { relay, book, take, acks: () => book.ackers(T, NOW, LEASE) };
}

let seq = 0;
/** M's report, signed plain or bound to `to`. */
async function report(o: { to?: Node; signer?: Node } = {}): Promise<SignedReport> {
  const r = { origin: nodes.m.id, term: T, seq: ++seq, at: NOW - 100, metrics: { cpu: 0.25 } };
  const body = reportBody(r);
  const key = (o.signer ?? nodes.m).key;
  return { ...r, body, sig: await key.sign(o.to ? boundBytes(body, o.to.id) : body) };
}

describe('a relayed report bound to a leader', () => {
  it('counts at that leader, not at another claimant of the same term', async () => {
    const [a, b] = [leader(nodes.a), leader(nodes.b)];
    const r = await report({ to: nodes.a });
    expect(await a.take(r)).toEqual({ counted: 1, checks: 1 });
    expect(a.acks()).toEqual([nodes.m.id]);
    // At B: the bound check fails, the plain one too (M has never bound one here: two checks).
    expect(await b.take(r)).toEqual({ counted: 0, checks: 2 });
    expect(b.acks()).toEqual([]);
    expect(b.book.get(nodes.m.id)).toBeUndefined();
  });

  it('a plain report counts at both (a previous release, or a follower not binding now)', async () => {
    const [a, b] = [leader(nodes.a), leader(nodes.b)];
    const plain = await report();
    expect((await a.take(plain)).counted).toBe(1);
    expect((await b.take(plain)).counted).toBe(1);
    expect(b.acks()).toEqual([nodes.m.id]);
    expect((await a.take(await report({ to: nodes.a }))).counted).toBe(1);
    expect(a.relay.takeRebind()).toBe(false);
    // M restarted (it signs plain until its first flagged seal): it still counts, by its term,
    // and A is told to seal early so that M binds again; B, where M never bound, is not.
    expect((await a.take(await report())).counted).toBe(1);
    expect((await b.take(await report())).counted).toBe(1);
    expect([a.relay.takeRebind(), a.relay.takeRebind(), b.relay.takeRebind()]).toEqual([true, false, false]);
  });

  it('a report bound to it but altered, signed by another key or bound to another does not count', async () => {
    const a = leader(nodes.a);
    const good = await report({ to: nodes.a });
    const altered = { ...good, body: reportBody({ ...good, metrics: { cpu: 99 } }) };
    const flipped = { ...good, seq: ++seq, sig: good.sig.map((x, i) => (i === 0 ? x ^ 1 : x)) };
    const forged = await report({ to: nodes.a, signer: nodes.b });
    expect((await a.take(altered, flipped, forged, await report({ to: nodes.b }))).counted).toBe(0);
    expect(a.acks()).toEqual([]);
  });

  it('checks: one per report that counts; a second only when the first kind fails', async () => {
    const a = leader(nodes.a);
    // A previous release: plain, unknown (bound first, then plain), then plain first.
    expect(await a.take(await report())).toEqual({ counted: 1, checks: 2 });
    expect(await a.take(await report())).toEqual({ counted: 1, checks: 1 });
    // Bound to another leader: plain fails, bound fails.
    expect(await a.take(await report({ to: nodes.b }))).toEqual({ counted: 0, checks: 2 });
    // It binds (an upgraded follower that saw a flagged seal): once two checks, then one.
    expect(await a.take(await report({ to: nodes.a }))).toEqual({ counted: 1, checks: 2 });
    expect(await a.take(await report({ to: nodes.a }))).toEqual({ counted: 1, checks: 1 });
    // A binder's report bound to another leader: bound fails, plain fails; not counted.
    expect(await a.take(await report({ to: nodes.b }))).toEqual({ counted: 0, checks: 2 });
    // Restarted, plain again: bound first (its last kind), then plain; counted.
    expect(await a.take(await report())).toEqual({ counted: 1, checks: 2 });
  });
});

describe('a follower’s own report', () => {
  it('is plain until a seal said leaders count bound reports, then bound to the leader it follows', async () => {
    const { relay } = relayUp(nodes.m);
    const [a, b] = [leader(nodes.a), leader(nodes.b)];
    const toA = { peerId: nodes.a.id, term: T };
    const before = await relay.own(toA, { cpu: 1 });
    expect(relay.bindsTo(nodes.a.id)).toBe(false);
    expect(await new Verifier().verify(nodes.m.id, before.body, before.sig)).toBe(true);
    relay.sealFrom(nodes.a.id, true);
    const after = await relay.own(toA, { cpu: 1 });
    expect(await new Verifier().verify(nodes.m.id, after.body, after.sig)).toBe(false);
    expect(await new Verifier().verify(nodes.m.id, boundBytes(after.body, nodes.a.id), after.sig)).toBe(true);
    expect((await a.take(after)).counted).toBe(1);
    expect((await b.take(after)).counted).toBe(0);
  });

  it('signs plain to a leader whose own seal came without the flag (a previous release after a rollback)', async () => {
    const { relay } = relayUp(nodes.m);
    const [a, b] = [leader(nodes.a), leader(nodes.b)];
    relay.sealFrom(nodes.a.id, true);
    relay.sealFrom(nodes.b.id, false);
    const toB = await relay.own({ peerId: nodes.b.id, term: T + 1 }, { cpu: 1 });
    expect(await new Verifier().verify(nodes.m.id, toB.body, toB.sig)).toBe(true);
    expect((await b.take(toB)).counted).toBe(1);
    // Every other leader still gets bound reports; B too once its seal says it counts them.
    expect(relay.bindsTo(nodes.a.id)).toBe(true);
    relay.sealFrom(nodes.b.id, true);
    const bound = await relay.own({ peerId: nodes.b.id, term: T + 1 }, { cpu: 1 });
    expect((await b.take(bound)).counted).toBe(1);
    expect((await a.take(bound)).counted).toBe(0);
  });

  it('names the leader it follows in the frame’s direct part', async () => {
    const sent: unknown[] = [];
    const relay = new RelayUp({
      self: nodes.m.id,
      now: () => NOW,
      sign: signWith(nodes.m.key),
      verifier: new Verifier(),
      relayDelay: 10,
      maxMembers: 100,
      leaseTimeout: LEASE,
      parent: () => nodes.b.id,
      isMember: () => true,
      send: async (_, f) => void sent.push(f),
    });
    await relay.report({ peerId: nodes.a.id, term: T }, { cpu: 1 });
    expect(sent).toMatchObject([{ t: 'load', term: T, at: NOW, leader: nodes.a.id }]);
  });
});

describe('a direct part at a leader', () => {
  function exchange(self: Node) {
    return new LoadExchange({
      self: () => self.id,
      now: () => NOW,
      loadInterval: 2_000,
      leader: () => ({ peerId: self.id, term: T }),
      metrics: () => ({}),
      send: async () => undefined,
      memberIds: () => [nodes.m.id],
      maxMembers: 100,
    });
  }

  it('naming another leader of the same term: its metrics are booked, no acknowledgement', () => {
    const a = exchange(nodes.a);
    a.onReport(nodes.m.id, { t: 'load', term: T, metrics: { cpu: 0.4 }, at: NOW - 10, leader: nodes.b.id });
    expect(a.book.ackers(T, NOW, LEASE)).toEqual([]);
    expect(a.book.get(nodes.m.id)).toEqual({ metrics: { cpu: 0.4 }, at: NOW - 10, term: 0 });
  });

  it('naming this leader, or none (a previous release), counts by its term as before', () => {
    for (const leader of [nodes.a.id, undefined]) {
      const a = exchange(nodes.a);
      a.onReport(nodes.m.id, { t: 'load', term: T, metrics: { cpu: 0.4 }, at: NOW - 10, leader });
      expect(a.book.ackers(T, NOW, LEASE)).toEqual([nodes.m.id]);
    }
  });
});
