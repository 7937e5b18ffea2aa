import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LoadExchange } from '../agent/load/exchange.ts';
import { signWith, Verifier } from '../agent/load/relay-sign.ts';
import { RelayUp } from '../agent/load/relay-up.ts';
import type { ProbeFrame } from '../shared/wire/probe.ts';
import { reportBody, type SignedReport } from '../shared/wire/relay-report.ts';

/**
 * A relay at a failover (issue 13): its child follows the new leader before it does. The child's
 * report goes on up the tree rooted at the new term's claimant as soon as the relay knows the
 * claim, not when the relay itself follows; the frame's direct part still names the term the
 * relay follows, so the new leader counts no acknowledgement the relay did not give.
 */

const NOW = 1_700_000_000_000;
const OLD = 4;
const NEW = 5;
type Node = { key: PrivateKey; id: string };
const nodes: Record<'old' | 'next' | 'relay' | 'child' | 'up', Node> = {} as never;

beforeAll(async () => {
  for (const n of ['old', 'next', 'relay', 'child', 'up'] as const) {
    const key = await generateKeyPair('Ed25519');
    nodes[n] = { key, id: peerIdFromPrivateKey(key).toString() };
  }
});
afterEach(() => vi.useRealTimers());

function exchange(self: Node, o: { leader: () => { peerId: string; term: number } | null; claimant?: string }) {
  const sent: Array<{ to: string; frame: Extract<ProbeFrame, { t: 'load' }> }> = [];
  const send = async (to: string, frame: ProbeFrame) => {
    if (frame.t === 'load') sent.push({ to, frame });
  };
  const relay = new RelayUp({
    self: self.id,
    now: () => NOW,
    sign: signWith(self.key),
    verifier: new Verifier(),
    relayDelay: 50,
    maxMembers: 100,
    leaseTimeout: 6_000,
    // The tree rooted at the new leader goes through `up`; the leader is adjacent otherwise.
    parent: (leader) => (leader.peerId === nodes.next.id ? nodes.up.id : leader.peerId),
    isMember: () => true,
    send,
  });
  const ex = new LoadExchange({
    self: () => self.id,
    now: () => NOW,
    loadInterval: 2_000,
    leader: o.leader,
    metrics: () => ({ cpu: 0.5 }),
    send,
    memberIds: () => Object.values(nodes).map((n) => n.id),
    maxMembers: 100,
    relay,
    ...(o.claimant ? { claimant: (term: number) => (term === NEW ? o.claimant : undefined) } : {}),
  });
  return { ex, sent };
}

async function childReport(term: number): Promise<ProbeFrame> {
  const r = { origin: nodes.child.id, term, seq: 1, at: NOW - 10, metrics: { cpu: 0.1 } };
  const body = reportBody(r);
  const signed: SignedReport = { ...r, body, sig: await nodes.child.key.sign(body) };
  return { t: 'load', term, metrics: { cpu: 0.1 }, hop: 0, relayed: [signed] };
}

describe('a relay whose child follows the new leader first', () => {
  it('sends the child’s report on up the new leader’s tree once it knows the claim, naming its own term', async () => {
    vi.useFakeTimers();
    const { ex, sent } = exchange(nodes.relay, {
      leader: () => ({ peerId: nodes.old.id, term: OLD }),
      claimant: nodes.next.id,
    });
    ex.onReport(nodes.child.id, await childReport(NEW));
    await vi.advanceTimersByTimeAsync(100);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.to).toBe(nodes.up.id);
    expect(sent[0]?.frame.term).toBe(OLD);
    expect(sent[0]?.frame.relayed?.map((r) => [r.origin, r.term])).toEqual([[nodes.child.id, NEW]]);
  });

  it('a leaderless relay names no term of its own', async () => {
    vi.useFakeTimers();
    const { ex, sent } = exchange(nodes.relay, { leader: () => null, claimant: nodes.next.id });
    ex.onReport(nodes.child.id, await childReport(NEW));
    await vi.advanceTimersByTimeAsync(100);
    expect(sent.map((s) => [s.to, s.frame.term])).toEqual([[nodes.up.id, 0]]);
  });

  it('without a known claimant the report waits for the relay’s own next report', async () => {
    vi.useFakeTimers();
    const { ex, sent } = exchange(nodes.relay, { leader: () => ({ peerId: nodes.old.id, term: OLD }) });
    ex.onReport(nodes.child.id, await childReport(NEW));
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toHaveLength(0);
  });

  it('the new leader counts the child, not the relay that passed its report on', async () => {
    const leader = { peerId: nodes.next.id, term: NEW };
    const { ex } = exchange(nodes.next, { leader: () => leader });
    const child = (await childReport(NEW)) as Extract<ProbeFrame, { t: 'load' }>;
    ex.onReport(nodes.relay.id, { ...child, term: OLD, metrics: { cpu: 0.5 }, hop: 1 });
    await vi.waitFor(() => expect(ex.book.ackers(NEW, NOW, 6_000)).toEqual([nodes.child.id]));
  });
});
