import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Machine } from './fixtures/ec2-instances.ts';
import { waitFor } from './fixtures/wait.ts';
import {
  explainedBy,
  type ListingPool,
  loggedLines,
  startListingPool,
  twoUnderOneLeader,
} from './helpers/ec2-listing-agents.ts';
import { RoguePeer } from './helpers/rogue-peer.ts';

/**
 * Issue 15, the failover gap of EC2 clouds without identityCertificate: followers do not list,
 * so before this a claim the leader refused was still a member on every follower, and a made-up
 * member with a forged old start time could be followed at a failover. Now the leader's summary
 * carries its refusals and a follower holds them. Real agents booted from their user data on
 * loopback "machines" of the wire-level EC2 server, listed through the real AWS SDK (the setup of
 * binding-ec2-listing-agents.test.ts); a key holder claims an instance id EC2 does not know with
 * start time 1. The follower drops it once the leader refused it (its /cluster does not list it,
 * it logs binding-leader-refused naming the leader), and after the leader is killed -9 and the key
 * holder claims leadership one term up, the follower never follows it and claims itself. Without
 * the list in the summary, both fail: the follower lists the claimant, and follows it ~1.4 s after
 * the kill.
 */

describe('followers take the leader’s EC2 listing refusals (real agents)', () => {
  let p: ListingPool;
  let squatter: RoguePeer | undefined;

  beforeAll(async () => {
    p = await startListingPool('ec2-refused', { min: 2, max: 2 });
  }, 120_000);

  afterAll(async () => {
    await squatter?.stop();
    await p?.close();
  }, 60_000);

  const cluster = (m: Machine) => p.pool.cluster(m).catch(() => null);
  const explained = (m: Machine) => explainedBy(m, /binding|leader|"level":"error"/);

  let leader: Machine;
  let follower: Machine;
  let followerId: string;
  let term = 0;

  it('a claim the leader refused is refused on the follower too', async () => {
    const two = await twoUnderOneLeader(p, 'refused-first');
    ({ leader, follower } = two);
    followerId = two.views[1].self;
    term = two.views[0].leader?.term ?? 0;

    const s = await RoguePeer.start('web', join(p.pool.dir, 'laptop', 'pool.key'));
    squatter = s;
    await s.answerProbes();
    await s.join([leader, follower].map((m) => `/ip4/${m.privateIp}/tcp/${p.pool.p2pPort}`));
    await s.claim('i-0fffffffffffffff1', 'app', { startedAt: 1 });
    await waitFor('the leader refused the claim', async () =>
      (await loggedLines(leader, 'binding-listing-refused')).some((l) => l.peerId === s.peerId),
    ).catch(explained(leader));
    const taken = await waitFor(
      'the follower took the refusal from the leader and does not list the claimant',
      async () => {
        const line = (await loggedLines(follower, 'binding-leader-refused')).find((l) => l.peerId === s.peerId);
        const listed = (await cluster(follower))?.members.some((m) => m.peerId === s.peerId);
        return line && listed === false ? line : null;
      },
      { timeoutMs: 30_000, everyMs: 250 },
    ).catch(explained(follower));
    expect(taken.leader).toBe(two.views[0].self);
  }, 180_000);

  it('at a failover the follower never follows the refused claimant', async () => {
    const s = squatter as RoguePeer;
    const agent = leader.agent;
    const exited = new Promise<void>((resolve) => agent?.once('exit', () => resolve()));
    agent?.kill('SIGKILL');
    await exited;
    // The claimant, oldest by its start time, claims the next term while the leader is gone.
    const claiming = setInterval(
      () => void s.claim('i-0fffffffffffffff1', 'app', { startedAt: 1, term: term + 1, leads: term + 1 }),
      1000,
    );
    let chosen: string;
    try {
      // Whichever it follows first: itself (the claim it sees is its own) or the refused claimant.
      chosen = await waitFor(
        'the follower follows a new leader',
        async () => {
          const id = (await cluster(follower))?.leader?.peerId;
          return id === followerId || id === s.peerId ? id : null;
        },
        { timeoutMs: 90_000, everyMs: 250 },
      ).catch(explained(follower));
    } finally {
      clearInterval(claiming);
    }
    const elected = (await loggedLines(follower, 'leader-elected')).filter((l) => l.peerId === s.peerId);
    expect({ chosen: chosen === followerId ? 'itself' : 'the refused claimant', elected }).toEqual({
      chosen: 'itself',
      elected: [],
    });
    expect((await cluster(follower))?.members.some((m) => m.peerId === s.peerId)).toBe(false);
  }, 120_000);
});
