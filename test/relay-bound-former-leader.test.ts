import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { LoadExchange } from '../agent/load/exchange.ts';
import { RelayDown } from '../agent/load/relay-down.ts';
import { signWith, Verifier } from '../agent/load/relay-sign.ts';
import { RelayUp } from '../agent/load/relay-up.ts';

/**
 * Issue 15: a node that only ever led took no seal (a leader drops its own), so it never learned
 * that leaders count bound reports; once it follows another leader it signed plain until that
 * leader's first seal reached it, and a plain report counts at any claimant of its term. A leader
 * of this release seals with the flag itself, so it binds from then on.
 */
describe('a former leader', () => {
  it('binds its reports to the next leader from its first report', async () => {
    const key = await generateKeyPair('Ed25519');
    const self = peerIdFromPrivateKey(key).toString();
    const next = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
    const now = () => 1_700_000_000_000;
    const signing = { self, now, sign: signWith(key), verifier: new Verifier() };
    const relay = new RelayUp({
      ...signing,
      relayDelay: 10,
      maxMembers: 16,
      leaseTimeout: 6_000,
      parent: (l) => l.peerId,
      isMember: () => true,
      send: async () => undefined,
    });
    const down = new RelayDown({ ...signing, children: () => [next], send: async () => undefined });
    const ex = new LoadExchange({
      self: () => self,
      now,
      loadInterval: 2_000,
      leader: () => ({ peerId: self, term: 3 }),
      metrics: () => ({}),
      send: async () => undefined,
      memberIds: () => [next],
      maxMembers: 16,
      relay,
      down,
    });
    await ex.tick(); // leading: its first summary goes out sealed, with the flag
    expect(relay.bindsTo(next)).toBe(true);
  });
});
