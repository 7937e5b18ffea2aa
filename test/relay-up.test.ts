import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LoadExchange } from '../agent/load/exchange.ts';
import { signWith, Verifier } from '../agent/load/relay-sign.ts';
import { RELAY_CLOCK_SKEW, RelayUp } from '../agent/load/relay-up.ts';
import { SendError } from '../agent/transport/channel.ts';
import type { ProbeFrame } from '../shared/wire/probe.ts';
import { reportBody, type SignedReport } from '../shared/wire/relay-report.ts';

/**
 * Load reports up the relay tree (issue 13): the leader counts a relayed report as its origin's
 * lease acknowledgement only when the origin signed it, is a member, and it is neither a replay
 * nor too old; a relay can drop reports but never forge, alter, replay or lend them.
 */

const NOW = 1_700_000_000_000;
const TERM = 5;
const LEASE = 6_000;
type Node = { key: PrivateKey; id: string };
const nodes: Record<'leader' | 'relay' | 'origin' | 'stranger', Node> = {} as never;

beforeAll(async () => {
  for (const n of ['leader', 'relay', 'origin', 'stranger'] as const) {
    const key = await generateKeyPair('Ed25519');
    nodes[n] = { key, id: peerIdFromPrivateKey(key).toString() };
  }
});
afterEach(() => vi.useRealTimers());

function relayUp(
  self: Node,
  o: { now?: () => number; parent?: string; send?: (to: string, f: ProbeFrame) => Promise<void> } = {},
) {
  const members = new Set([nodes.leader.id, nodes.relay.id, nodes.origin.id]);
  return new RelayUp({
    self: self.id,
    now: o.now ?? (() => NOW),
    sign: signWith(self.key),
    verifier: new Verifier(),
    relayDelay: 50,
    maxMembers: 100,
    leaseTimeout: LEASE,
    parent: () => o.parent ?? nodes.leader.id,
    isMember: (id) => members.has(id),
    send: o.send ?? (async () => undefined),
  });
}

function leaderExchange() {
  const relay = relayUp(nodes.leader);
  const ex = new LoadExchange({
    self: () => nodes.leader.id,
    now: () => NOW,
    loadInterval: 2_000,
    leader: () => ({ peerId: nodes.leader.id, term: TERM }),
    metrics: () => ({}),
    send: async () => undefined,
    memberIds: () => [nodes.relay.id, nodes.origin.id],
    maxMembers: 100,
    relay,
  });
  const acks = () => ex.book.ackers(TERM, NOW, LEASE).sort();
  return { ex, relay, acks };
}

const signed = async (by: Node, r: Omit<SignedReport, 'body' | 'sig'>): Promise<SignedReport> => {
  const body = reportBody(r);
  return { ...r, body, sig: await by.key.sign(body) };
};
const fromOrigin = (seq = 1, at = NOW - 100) =>
  signed(nodes.origin, { origin: nodes.origin.id, term: TERM, seq, at, metrics: { cpu: 0.3 } });

describe('the leader and relayed reports', () => {
  it('counts a report relayed by another member as its origin’s acknowledgement', async () => {
    const l = leaderExchange();
    expect(await l.relay.accept([await fromOrigin()], l.ex.book)).toBe(1);
    expect(l.acks()).toEqual([nodes.origin.id]);
    expect(l.ex.book.get(nodes.origin.id)).toMatchObject({ metrics: { cpu: 0.3 }, at: NOW - 100, term: TERM });
  });

  it('does not count a report the relay signed in the origin’s name, or altered', async () => {
    const l = leaderExchange();
    const forged = await signed(nodes.relay, { origin: nodes.origin.id, term: TERM, seq: 1, at: NOW, metrics: {} });
    const good = await fromOrigin();
    const altered = { ...good, body: reportBody({ ...good, metrics: { cpu: 99 } }) };
    expect(await l.relay.accept([forged, altered], l.ex.book)).toBe(0);
    expect(l.acks()).toEqual([]);
  });

  it('does not count a replay, nor an older seq', async () => {
    const l = leaderExchange();
    const second = await fromOrigin(2);
    expect(await l.relay.accept([second], l.ex.book)).toBe(1);
    expect(await l.relay.accept([second, await fromOrigin(1)], l.ex.book)).toBe(0);
    expect(await l.relay.accept([await fromOrigin(3)], l.ex.book)).toBe(1);
  });

  it('does not count a report held back past the lease window, nor one from the future', async () => {
    const l = leaderExchange();
    const old = await fromOrigin(1, NOW - LEASE - RELAY_CLOCK_SKEW - 1);
    const ahead = await fromOrigin(2, NOW + RELAY_CLOCK_SKEW + 1);
    expect(await l.relay.accept([old, ahead], l.ex.book)).toBe(0);
    // Within the skew ahead: counts, its time capped at the leader's now.
    expect(await l.relay.accept([await fromOrigin(3, NOW + 500)], l.ex.book)).toBe(1);
    expect(l.ex.book.get(nodes.origin.id)?.at).toBe(NOW);
  });

  it('does not count a key that is not a member (a relay cannot invent members)', async () => {
    const l = leaderExchange();
    const s = nodes.stranger;
    const r = await signed(s, { origin: s.id, term: TERM, seq: 1, at: NOW, metrics: {} });
    expect(await l.relay.accept([r], l.ex.book)).toBe(0);
  });

  it('a relayed load frame on the probe channel counts the sender directly and its reports once checked', async () => {
    const l = leaderExchange();
    l.ex.onReport(nodes.relay.id, { t: 'load', term: TERM, metrics: {}, hop: 1, relayed: [await fromOrigin()] });
    await vi.waitFor(() => expect(l.acks()).toEqual([nodes.origin.id, nodes.relay.id].sort()));
  });

  it('a plain report from an agent of the previous release still counts (rolling upgrade)', () => {
    const l = leaderExchange();
    l.ex.onReport(nodes.origin.id, { t: 'load', term: TERM, metrics: { cpu: 1 } });
    expect(l.acks()).toEqual([nodes.origin.id]);
  });
});

describe('a relay', () => {
  it('sends on what its children send it within relayDelay, in one frame, newest per origin', async () => {
    vi.useFakeTimers();
    const sent: Array<{ to: string; frame: ProbeFrame }> = [];
    const r = relayUp(nodes.relay, { send: async (to, frame) => void sent.push({ to, frame }) });
    const leader = { peerId: nodes.leader.id, term: TERM };
    r.hold([await fromOrigin(1)], 0, leader);
    r.hold(
      [
        await fromOrigin(2),
        await signed(nodes.stranger, { origin: nodes.stranger.id, term: TERM, seq: 1, at: NOW, metrics: {} }),
      ],
      1,
      leader,
    );
    expect(sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(60);
    expect(sent).toHaveLength(1);
    const f = sent[0]!.frame as Extract<ProbeFrame, { t: 'load' }>;
    expect(sent[0]!.to).toBe(nodes.leader.id);
    expect(f.hop).toBe(2);
    expect(f.relayed?.map((x) => [x.origin, x.seq])).toEqual([
      [nodes.origin.id, 2],
      [nodes.stranger.id, 1],
    ]);
  });

  it('its own report goes to its parent, signed; if the parent fails, to the leader for that round', async () => {
    const sent: string[] = [];
    const r = relayUp(nodes.origin, {
      parent: nodes.relay.id,
      send: async (to) => {
        sent.push(to);
        if (to === nodes.relay.id) throw new Error('gone');
      },
    });
    await r.report({ peerId: nodes.leader.id, term: TERM }, { cpu: 1 });
    expect(sent).toEqual([nodes.relay.id, nodes.leader.id]);
    const l = leaderExchange();
    const own = await r.own({ peerId: nodes.leader.id, term: TERM }, { cpu: 1 });
    expect(await l.relay.accept([own], l.ex.book)).toBe(1);
  });

  it('a report to the leader as its parent is sent once more when it fails, not when the leader refused', async () => {
    for (const failure of ['timeout', 'refused'] as const) {
      const sent: string[] = [];
      const r = relayUp(nodes.origin, {
        send: async (to) => {
          sent.push(to);
          if (sent.length === 1) throw new SendError(to, failure, new Error(failure));
        },
      });
      await r.report({ peerId: nodes.leader.id, term: TERM }, { cpu: 1 });
      expect(sent).toEqual(failure === 'timeout' ? [nodes.leader.id, nodes.leader.id] : [nodes.leader.id]);
    }
  });

  it('reports for a leader it does not follow yet wait for its own next report (a failover loses no round)', async () => {
    vi.useFakeTimers();
    const sent: Array<{ to: string; frame: ProbeFrame }> = [];
    const r = relayUp(nodes.relay, { send: async (to, frame) => void sent.push({ to, frame }) });
    r.hold([await fromOrigin(1)], 0, null);
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toHaveLength(0);
    await r.report({ peerId: nodes.leader.id, term: TERM }, { cpu: 1 });
    const f = sent[0]!.frame as Extract<ProbeFrame, { t: 'load' }>;
    expect(f.relayed?.map((x) => x.origin)).toEqual([nodes.relay.id, nodes.origin.id]);
  });
});
