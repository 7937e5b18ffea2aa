import { describe, expect, it } from 'vitest';
import { waitFor } from './fixtures/wait.ts';
import { explainedBy, loggedLines, twoUnderOneLeader } from './helpers/ec2-listing-agents.ts';
import { listingSuite } from './helpers/listing-suite.ts';

/**
 * Issue 15: a claim the leader's EC2 listing has not judged yet used to be `unchecked` — it took
 * part at once (first claim wins) until the next listing, at most one per 2 s, and a new leader
 * ran its first second or so that way. Now such a claim is held until the listing answers
 * (binding-cache.ts, binding-ec2-listing.ts). Real agents booted from their user data on loopback
 * "machines" of the wire-level EC2 server, listed through the real AWS SDK: the leader is killed
 * -9, and as soon as the follower leads, a key holder claims an instance id EC2 does not know.
 * The new leader's /cluster, polled every 50 ms, never lists it, and the listing refuses it.
 * Without the hold it was listed from 65 to 864 ms after the claim (one run, load 76, 2026-12-06).
 */

describe('a new leader holds a claim until its EC2 listing judges it (real agents)', () => {
  const suite = listingSuite('ec2-judging', { min: 2, max: 2 });

  it('a claim first seen by the new leader is never counted before the listing refuses it', async () => {
    const p = suite.pool();
    const { leader, follower, views } = await twoUnderOneLeader(p, 'judging-first');
    const followerId = views[1].self;
    const explained = explainedBy(follower, /binding|leader|"level":"error"/);
    const exited = new Promise<void>((resolve) => leader.agent?.once('exit', () => resolve()));
    leader.agent?.kill('SIGKILL');
    await exited;
    await waitFor(
      'the follower leads',
      async () => (await p.pool.cluster(follower).catch(() => null))?.leader?.peerId === followerId,
      { timeoutMs: 60_000, everyMs: 100 },
    ).catch(explained);

    const s = await suite.keyHolder([follower]);
    const claimedAt = Date.now();
    await s.claim('i-0fffffffffffffff3', 'app', { startedAt: Date.now() });
    const seen: number[] = [];
    const refused = await waitFor(
      'the new leader refused the claim',
      async () => {
        const view = await p.pool.cluster(follower).catch(() => null);
        if (view?.members.some((m) => m.peerId === s.peerId)) seen.push(Date.now() - claimedAt);
        return (await loggedLines(follower, 'binding-listing-refused')).find((l) => l.peerId === s.peerId);
      },
      { timeoutMs: 30_000, everyMs: 50 },
    ).catch(explained);
    expect(refused.reason).toBe('not-listed');
    // A little longer: the refusal is logged as it is made; the view must not list it after either.
    for (let i = 0; i < 20; i++) {
      const view = await p.pool.cluster(follower).catch(() => null);
      if (view?.members.some((m) => m.peerId === s.peerId)) seen.push(Date.now() - claimedAt);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen, 'ms after the claim at which the new leader listed the claimant').toEqual([]);
  }, 240_000);
});
