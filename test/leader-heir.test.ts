import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { heirOf, hubsOf } from '../agent/leader/heir.ts';
import { keepConnections } from '../agent/membership/neighbours.ts';
import type { PoolNode } from '../agent/p2p/node.ts';

/**
 * Issue 13, failover at N=50: every member keeps a connection to the heir (the member that would
 * claim next) as well as to the leader, and a hub (the leader or the heir) closes none of its
 * members' connections for the budget, so a new leader's followers report on connections already
 * open instead of ~45 of them dialling it at once.
 */
describe('heir', () => {
  const m = (peerId: string, startedAt: number, retiring = false) => ({ peerId, startedAt, retiring });

  it('is the oldest non-retiring member other than the leader, in the election order', () => {
    const members = [m('e', 5), m('a', 1), m('b', 2), m('c', 2), m('d', 0, true)];
    expect(heirOf(members, 'a')).toBe('b'); // b and c started together: the smaller id, as `older`
    expect(heirOf(members, 'b')).toBe('a');
    expect(heirOf(members, null)).toBe('a'); // no leader: the one that claims
    expect(heirOf([m('a', 1)], 'a')).toBeNull();
  });

  it('the hubs are the leader and the heir, each once', () => {
    expect(hubsOf([m('a', 1), m('b', 2), m('c', 3)], 'c')).toEqual(['c', 'a']);
    expect(hubsOf([m('a', 1), m('b', 2)], null)).toEqual(['a']);
    expect(hubsOf([m('a', 1)], 'a')).toEqual(['a']);
  });
});

interface FakeConn {
  remotePeer: { toString(): string };
  timeline: { open: number };
}

/** A node with `connected` peers opened at the given times; records what it dials and hangs up. */
async function fakeNode(connected: Record<string, number>) {
  const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
  const dialled: string[] = [];
  const closed: string[] = [];
  const node = {
    peerId: self,
    getConnections: (): FakeConn[] =>
      Object.entries(connected).map(([id, open]) => ({ remotePeer: { toString: () => id }, timeline: { open } })),
    dial: async (p: { toString(): string }) => void dialled.push(p.toString()),
    hangUp: async (p: { toString(): string }) => void closed.push(p.toString()),
  } as unknown as PoolNode;
  return { self: self.toString(), node, dialled, closed };
}

async function peers(n: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()),
  );
}

describe('keepConnections with hubs', () => {
  const now = 100_000;
  const old = now - 60_000; // past the grace period

  it('a member dials the leader and the heir, and closes others past the budget', async () => {
    const [leader, heir, ...others] = await peers(6);
    const { node, dialled, closed } = await fakeNode(Object.fromEntries(others.map((id) => [id, old])));
    keepConnections(node, new Set([leader as string, heir as string]), () => true, 2, now);
    expect(dialled.sort()).toEqual([leader, heir].sort());
    expect(closed).toHaveLength(2);
  });

  it('a hub keeps every member that connected to it, and never dials itself', async () => {
    const members = await peers(6);
    const [stranger] = await peers(1);
    const connected = Object.fromEntries([...members, stranger as string].map((id) => [id, old]));
    const hub = await fakeNode(connected);
    const isMember = (id: string) => id === hub.self || members.includes(id);
    keepConnections(hub.node, new Set([hub.self]), isMember, 2, now);
    expect(hub.dialled).toEqual([]);
    // Seven connected, budget two: only the connection of a peer with no record may go.
    expect(hub.closed).toEqual([stranger]);
  });

  it('the heir, while not a hub in its own view, would close its members past the budget', async () => {
    const members = await peers(5);
    const node = await fakeNode(Object.fromEntries(members.map((id) => [id, old])));
    keepConnections(node.node, new Set(), () => true, 2, now);
    expect(node.closed).toHaveLength(3);
  });
});
