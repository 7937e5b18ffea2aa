import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEc2Remoter, type Ec2Remoter } from '../shared/remoter/ec2.ts';
import { ec2Pool, fastRetry, stubAwsEnv } from './ec2-fixtures.ts';
import { fakeAwsEnv } from './fixtures/cli-env.ts';
import { Ec2AgentPool } from './fixtures/ec2-agent-pool.ts';
import type { Machine } from './fixtures/ec2-instances.ts';
import { waitFor } from './fixtures/wait.ts';
import { RoguePeer } from './helpers/rogue-peer.ts';

/**
 * EC2 members without identityCertificate, bound by the provider's listing (issue 15), with real
 * agents booted from their user data on loopback "machines" of the wire-level EC2 server, which
 * the leader lists through the real AWS SDK. The leader binds the real member (listed, running, it
 * answers at its private address); a key holder on another address claiming a running instance
 * that has no agent, and one claiming an id EC2 does not know, are refused and not counted; while
 * EC2 throttles DescribeInstances a new claim stays unchecked (logged once), and is refused once a
 * listing succeeds again. Before the listing, all three claims were counted (first claim wins).
 */

describe('EC2 members bound by the listing (real agents, no identityCertificate)', () => {
  let pool: Ec2AgentPool;
  let remoter: Ec2Remoter;
  const rogues: RoguePeer[] = [];

  beforeAll(async () => {
    stubAwsEnv();
    pool = await Ec2AgentPool.start({ name: 'ec2-listing', aws: fakeAwsEnv() });
    const def = ec2Pool(pool.ec2Options);
    const app = def.clouds.app as NonNullable<typeof def.clouds.app>;
    // Room for the agentless instance; the load rule a busy test machine could trip has none beyond it.
    Object.assign(app, { instances: { min: 2, max: 3 }, monitor: { ...app.monitor, port: pool.monitorPort } });
    const stateDir = join(pool.dir, 'laptop');
    remoter = createEc2Remoter({ pool: def, cloud: 'app', stateDir, retryStrategy: fastRetry() });
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(rogues.map((r) => r.stop()));
    remoter?.client.destroy();
    await pool?.close();
  }, 60_000);

  const cluster = (m: Machine) => pool.cluster(m).catch(() => null);

  /** The agent log's lines with message `msg`, parsed. */
  const logged = async (m: Machine, msg: string): Promise<Record<string, unknown>[]> =>
    (await readFile(m.agentLog, 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l.includes(`"${msg}"`))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  /** A failed wait, with the leader's binding lines attached. */
  const explained = (m: Machine) => async (err: Error) => {
    const lines = (await readFile(m.agentLog, 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l.includes('binding') || l.includes('"level":"error"'));
    throw new Error(`${err.message}\n${lines.slice(-30).join('\n')}`);
  };

  const counts = async (m: Machine, peerId: string) =>
    ((await cluster(m))?.members ?? []).some((x) => x.peerId === peerId);

  const rogue = async (instanceId: string, agents: Machine[]): Promise<RoguePeer> => {
    const r = await RoguePeer.start('web', join(pool.dir, 'laptop', 'pool.key'));
    rogues.push(r);
    await r.answerProbes();
    await r.join(agents.map((m) => `/ip4/${m.privateIp}/tcp/${pool.p2pPort}`));
    await r.claim(instanceId, 'app', { startedAt: Date.now() });
    return r;
  };

  /** The two agents once they see each other, and which one leads. */
  let leader: Machine;
  let follower: Machine;
  let agents: Machine[];

  it('the leader binds the real member by the listing', async () => {
    await remoter.launch({ cloud: 'app', count: 1, clientToken: 'listing-first' });
    const both = await waitFor(
      'the leader launched the second machine and both see each other alive',
      async () => {
        const up = pool.machines.running();
        if (up.length !== 2) return null;
        const views = await Promise.all(up.map(cluster));
        const ok = views.every((v) => v?.members.filter((x) => x.state === 'alive').length === 2 && v.leader);
        return ok ? { up, views } : null;
      },
      { timeoutMs: 90_000, everyMs: 500 },
    ).catch(async (err: Error) => {
      const logs = await Promise.all(
        [...pool.machines.machines.values()].map(async (m) => {
          const boot = await readFile(m.bootLog, 'utf8').catch(() => '');
          const agent = (await readFile(m.agentLog, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
          return `== ${m.instanceId} ${m.privateIp}\n${boot.slice(-800)}\n${agent}`;
        }),
      );
      throw new Error(`${err.message}\n${logs.join('\n')}`);
    });
    const leaderPeer = both.views[0]?.leader?.peerId;
    const leaderAt = both.views.findIndex((v) => v?.self === leaderPeer);
    expect(leaderAt, 'one of the two leads').toBeGreaterThanOrEqual(0);
    agents = both.up;
    leader = both.up[leaderAt] as Machine;
    follower = both.up[1 - leaderAt] as Machine;
    await waitFor('the leader bound the member by the listing', async () =>
      (await logged(leader, 'binding-listing-bound')).some((l) => l.instanceId === follower.instanceId),
    ).catch(explained(leader));
  }, 150_000);

  it('refuses a running instance claimed from another address, and an id EC2 does not know', async () => {
    // The pool's tags, a user data that starts no agent: launched by hand, or an agent not up yet.
    const out = await remoter.client.send(
      new RunInstancesCommand({
        ImageId: 'ami-0123456789abcdef0',
        MinCount: 1,
        MaxCount: 1,
        UserData: Buffer.from('#!/bin/bash\nexit 0\n').toString('base64'),
        TagSpecifications: [
          {
            ResourceType: 'instance',
            Tags: [
              { Key: 'poolparty:pool', Value: 'web' },
              { Key: 'poolparty:cloud', Value: 'app' },
            ],
          },
        ],
      }),
    );
    const bare = { id: out.Instances?.[0]?.InstanceId ?? '', privateIp: out.Instances?.[0]?.PrivateIpAddress ?? '' };
    expect(bare.privateIp, 'the agentless instance has an address').not.toBe('');
    const squatter = await rogue(bare.id, agents);
    const inventor = await rogue('i-0fffffffffffffff1', agents);
    const refused = await waitFor('the leader refused both claims', async () => {
      const lines = await logged(leader, 'binding-listing-refused');
      const of = (r: RoguePeer) => lines.find((l) => l.peerId === r.peerId);
      return of(squatter) && of(inventor) ? { squatter: of(squatter), inventor: of(inventor) } : null;
    }).catch(explained(leader));
    expect(refused.squatter?.reason).toBe('listing-mismatch');
    expect(String(refused.squatter?.detail)).toContain(bare.privateIp);
    expect(refused.inventor?.reason).toBe('not-listed');
    await waitFor('neither is counted by the leader', async () => {
      const counted = await Promise.all([counts(leader, squatter.peerId), counts(leader, inventor.peerId)]);
      return counted.every((c) => !c);
    });
    // The follower does not list, but takes the leader's refusals from its summary: it drops them too.
    await waitFor(
      'neither is counted by the follower either',
      async () => {
        const counted = await Promise.all([counts(follower, squatter.peerId), counts(follower, inventor.peerId)]);
        return counted.every((c) => !c);
      },
      { timeoutMs: 30_000, everyMs: 500 },
    );
  }, 60_000);

  it('leaves a claim unchecked while EC2 throttles (said once), and refuses it once EC2 answers', async () => {
    pool.server.model.throttle('DescribeInstances', 100_000);
    const early = await rogue('i-0eeeeeeeeeeeeeee2', agents);
    await waitFor('the leader logged the listing unavailable', async () =>
      (await logged(leader, 'binding-listing-unavailable')).some((l) => l.cloud === 'app'),
    ).catch(explained(leader));
    await waitFor('the unchecked claim is counted meanwhile (first claim wins)', () => counts(leader, early.peerId));
    expect((await logged(leader, 'binding-listing-unavailable')).length, 'logged once').toBe(1);
    pool.server.model.clearFaults();
    await waitFor(
      'the claim is refused once EC2 answers again (after the retry pause)',
      async () =>
        (await logged(leader, 'binding-listing-refused')).some((l) => l.peerId === early.peerId) &&
        !(await counts(leader, early.peerId)),
      { timeoutMs: 30_000 },
    );
  }, 90_000);
});
