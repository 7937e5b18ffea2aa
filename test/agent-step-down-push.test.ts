import { afterEach, describe, expect, it, vi } from 'vitest';
import { GossipChannel } from '../agent/gossip.ts';
import { SyncRunner } from '../agent/membership/sync-runner.ts';
import type { WireMessage } from '../shared/wire/heartbeat.ts';
import { waitFor } from './fixtures/wait.ts';
import { TestPool } from './helpers/agents.ts';

/**
 * A leader that steps down tells those who followed it at once (issue 15, heal to one leader): a
 * follower keeps following while the leader's record still claims, and at a heal the cut-off
 * leader's companion saw the step-down 2–4.4 s late by gossip. Two real agents; once B follows A
 * (and has acknowledged it), A's records no longer go out on the members topic (as when its mesh,
 * or its view of who subscribes, misses B) and no anti-entropy runs, so only the point-to-point
 * push (LeaderDuty's tellFollowers → membership.pushRecord) can tell B. Without it B follows A
 * until the timeout.
 */
describe('a leader that steps down', () => {
  let pool: TestPool | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await pool?.cleanup();
    pool = undefined;
  });

  it('is seen to by its follower at once, with no gossip and no anti-entropy between them', async () => {
    pool = await TestPool.create();
    const a = await pool.start('a');
    const b = await pool.start('b');
    await waitFor('B to follow A', () => a.leadership?.leads === 1 && b.leadership?.leader?.peerId === a.peerId, {
      timeoutMs: 30_000,
    });
    await new Promise((r) => setTimeout(r, 1000)); // B's acknowledgement (its load report) reaches A
    const publish = GossipChannel.prototype.publish;
    vi.spyOn(GossipChannel.prototype, 'publish').mockImplementation(function (this: GossipChannel, msg: WireMessage) {
      return msg.type === 'heartbeat' && msg.peerId === a.peerId ? Promise.resolve(0) : publish.call(this, msg);
    });
    vi.spyOn(SyncRunner.prototype, 'request').mockImplementation(() => undefined);
    const at = Date.now();
    a.leadership?.retire(); // A steps down at its next election step (and stays a member)
    await waitFor('A to step down', () => a.leadership?.leads === null, { timeoutMs: 5_000, everyMs: 10 });
    const downMs = Date.now() - at;
    await waitFor('B to stop following A', () => b.leadership?.leader?.peerId !== a.peerId, {
      timeoutMs: 5_000,
      everyMs: 10,
    });
    console.log(JSON.stringify({ test: 'step-down-push', downMs, followerMs: Date.now() - at }));
    expect(b.leadership?.leader?.peerId).not.toBe(a.peerId);
  }, 60_000);
});
