import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { LoadExchange } from '../agent/load/exchange.ts';
import { RelayDown } from '../agent/load/relay-down.ts';
import { signWith, Verifier } from '../agent/load/relay-sign.ts';
import { RelayUp } from '../agent/load/relay-up.ts';
import { boundBytes, reportBody } from '../shared/wire/relay-report.ts';

/**
 * Issue 15: when a leader's followers learn to bind their reports to it (a flagged seal), seen from
 * the leader's LoadExchange with its RelayUp and RelayDown, real keys, no sockets.
 */
async function leaderSide(member: string, clock: () => number) {
  const key = await generateKeyPair('Ed25519');
  const self = peerIdFromPrivateKey(key).toString();
  const signing = { self, now: clock, sign: signWith(key), verifier: new Verifier() };
  const relay = new RelayUp({
    ...signing,
    relayDelay: 10,
    maxMembers: 16,
    leaseTimeout: 6_000,
    parent: (l) => l.peerId,
    isMember: () => true,
    send: async () => undefined,
  });
  const sent = { seals: 0 };
  const down = new RelayDown({
    ...signing,
    children: () => [member],
    send: async () => {
      sent.seals++;
    },
  });
  const ex = new LoadExchange({
    self: () => self,
    now: clock,
    loadInterval: 2_000,
    leader: () => ({ peerId: self, term: 3 }),
    metrics: () => ({}),
    send: async () => undefined,
    memberIds: () => [member],
    maxMembers: 16,
    relay,
    down,
  });
  return { self, relay, ex, sent };
}

async function peer(): Promise<{ id: string; key: PrivateKey }> {
  const key = await generateKeyPair('Ed25519');
  return { id: peerIdFromPrivateKey(key).toString(), key };
}

describe('a former leader', () => {
  // A leader drops its own seals, so a node that had only led never learned that leaders count
  // bound reports: once it followed another, it signed plain until that leader's first seal.
  it('binds its reports to the next leader from its first report', async () => {
    const next = await peer();
    const { relay, ex } = await leaderSide(next.id, () => 1_700_000_000_000);
    await ex.tick(); // leading: its first summary goes out sealed, with the flag
    expect(relay.bindsTo(next.id)).toBe(true);
  });
});

describe('a leader whose follower restarted', () => {
  // A restarted follower signs plain until a flagged seal reaches it (review R1), and a plain
  // report counts at any claimant of its term; seals come every max(5 s, N × 1 s).
  it('seals its summary at the next tick, not at the next summary interval', async () => {
    const m = await peer();
    let now = 1_700_000_000_000;
    const { self, relay, ex, sent } = await leaderSide(m.id, () => now);
    let seq = 0;
    const report = async (bound: boolean) => {
      const r = { origin: m.id, term: 3, seq: ++seq, at: now, metrics: { cpu: 0.5 } };
      const body = reportBody(r);
      return { ...r, body, sig: await signWith(m.key)(bound ? boundBytes(body, self) : body) };
    };
    expect(await relay.accept([await report(true)], ex.book)).toBe(1);
    await ex.tick();
    const first = sent.seals;
    expect(first).toBeGreaterThan(0);
    now += 2_000;
    expect(await relay.accept([await report(true)], ex.book)).toBe(1);
    await ex.tick(); // within the summary interval (5 s): no seal
    expect(sent.seals).toBe(first);
    now += 1_000;
    expect(await relay.accept([await report(false)], ex.book)).toBe(1); // restarted: plain
    await ex.tick();
    expect(sent.seals).toBeGreaterThan(first);
  });
});
