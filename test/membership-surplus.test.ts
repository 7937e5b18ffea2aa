import type { Connection } from '@libp2p/interface';
import { describe, expect, it } from 'vitest';
import { busy, type Connected, SURPLUS_GRACE_MS, surplusToClose } from '../agent/membership/surplus.ts';

/**
 * The connection budget sheds a peer as soon as its connection has served what it was opened for
 * (issue 13: a seed held every joiner's connection for 30 s, near libp2p's hard cap past which it
 * refuses every joiner). Pure: peers with open times and a busy flag.
 */

const GRACE = 30_000;
const NOW = 100_000;
const peer = (id: string, ageMs: number, isBusy = false): Connected => ({ id, opened: NOW - ageMs, busy: isBusy });
const conn = (...protocols: string[]) =>
  ({ streams: protocols.map((protocol) => ({ protocol })) }) as unknown as Connection;

describe('surplusToClose', () => {
  it('closes nothing within the budget', () => {
    const peers = [peer('a', GRACE * 2), peer('b', GRACE * 2)];
    expect(surplusToClose(peers, new Set(), 2, NOW, GRACE)).toEqual([]);
  });

  it('closes idle surplus peers past SURPLUS_GRACE_MS, oldest first, down to the budget', () => {
    const peers = [
      peer('young', SURPLUS_GRACE_MS - 1),
      peer('mid', SURPLUS_GRACE_MS + 2000),
      peer('old', SURPLUS_GRACE_MS + 5000),
      peer('kept', GRACE * 2),
    ];
    // 4 connected, budget 2: two go, the oldest idle ones not kept.
    expect(surplusToClose(peers, new Set(['kept']), 2, NOW, GRACE)).toEqual(['old', 'mid']);
    // Budget 1: the young one is still in its grace, so only two can go.
    expect(surplusToClose(peers, new Set(['kept']), 1, NOW, GRACE)).toEqual(['old', 'mid']);
  });

  it('leaves a busy peer (a sync running) until GRACE_MS, then closes it anyway', () => {
    const peers = [peer('pulling', SURPLUS_GRACE_MS + 5000, true), peer('n', GRACE * 2)];
    expect(surplusToClose(peers, new Set(['n']), 1, NOW, GRACE)).toEqual([]);
    const stuck = [peer('pulling', GRACE, true), peer('n', GRACE * 2)];
    expect(surplusToClose(stuck, new Set(['n']), 1, NOW, GRACE)).toEqual(['pulling']);
  });
});

describe('busy', () => {
  it('is false for the streams every member connection carries', () => {
    const c = conn('/meshsub/1.1.0', '/poolparty/p/probe/2', '/ipfs/id/1.0.0', '/ipfs/ping/1.0.0');
    expect(busy([c])).toBe(false);
    expect(busy([])).toBe(false);
  });

  it('is true while any connection to the peer carries a sync or another stream of its own', () => {
    expect(busy([conn('/meshsub/1.1.0'), conn('/poolparty/p/sync/2')])).toBe(true);
    expect(busy([conn('/poolparty/p/bundle/1')])).toBe(true);
  });
});
