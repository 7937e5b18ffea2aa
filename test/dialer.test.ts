import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { Multiaddr } from '@multiformats/multiaddr';
import { describe, expect, it } from 'vitest';
import { Dialer } from '../agent/discovery.ts';

async function peer() {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
}

function target(connected: string[] = []) {
  const dials: string[] = [];
  let fail = false;
  return {
    dials,
    connected,
    failNext(v: boolean) {
      fail = v;
    },
    connectionCount: () => connected.length,
    isConnected: (p: string) => connected.includes(p),
    dial: async (addrs: Multiaddr[] | Multiaddr) => {
      const list = Array.isArray(addrs) ? addrs : [addrs];
      dials.push(list.map(String).join(','));
      if (fail) throw new Error('refused');
    },
  };
}

describe('dialer', () => {
  it('dials known members up to the connection deficit, with /p2p suffix', async () => {
    const peers = await Promise.all([peer(), peer(), peer(), peer()]);
    const t = target([peers[0] as string]);
    const d = new Dialer({ target: t, selfPeerId: 'self', bootstrap: [], minConnections: 3 });
    const started = d.maintain(peers.map((p, i) => ({ peerId: p, addrs: [`/ip4/127.0.0.${i + 2}/tcp/8643`] })));
    expect(started).toBe(2);
    expect(t.dials).toHaveLength(2);
    for (const dial of t.dials) expect(dial).toMatch(/^\/ip4\/127\.0\.0\.\d\/tcp\/8643\/p2p\/12D3KooW/);
    expect(t.dials.some((x) => x.includes(peers[0] as string))).toBe(false);
  });

  it('uses the bootstrap list only when it has no connection, and backs off failed peers', async () => {
    let now = 0;
    const t = target();
    t.failNext(true);
    const d = new Dialer({
      target: t,
      selfPeerId: 'self',
      bootstrap: ['/ip4/127.0.0.9/tcp/8643', 'garbage'],
      minConnections: 2,
      retryAfter: 5000,
      random: () => 0.5, // no jitter: retries exactly retryAfter later
      now: () => now,
    });
    expect(d.maintain([])).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(d.maintain([])).toBe(0); // failed 0 ms ago: backing off
    now = 5000;
    expect(d.maintain([])).toBe(1);
    expect(t.dials).toEqual(['/ip4/127.0.0.9/tcp/8643', '/ip4/127.0.0.9/tcp/8643']);
  });

  it('does nothing when the connection count is already enough', async () => {
    const t = target(['a', 'b']);
    const d = new Dialer({ target: t, selfPeerId: 'self', bootstrap: ['/ip4/127.0.0.9/tcp/1'], minConnections: 2 });
    expect(d.maintain([{ peerId: await peer(), addrs: ['/ip4/127.0.0.3/tcp/1'] }])).toBe(0);
    expect(t.dials).toEqual([]);
  });
});
