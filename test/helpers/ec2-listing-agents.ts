import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createEc2Remoter, type Ec2Remoter } from '../../shared/remoter/ec2.ts';
import type { ClusterView } from '../../shared/wire/cluster.ts';
import { ec2Pool, fastRetry, stubAwsEnv } from '../ec2-fixtures.ts';
import { fakeAwsEnv } from '../fixtures/cli-env.ts';
import { Ec2AgentPool } from '../fixtures/ec2-agent-pool.ts';
import type { Machine } from '../fixtures/ec2-instances.ts';
import { waitFor } from '../fixtures/wait.ts';

/**
 * Real agents of an ec2 cloud without identityCertificate (bound by the leader's listing), booted
 * from their user data on loopback "machines" of the wire-level EC2 server, and the laptop's
 * remoter on it (the real AWS SDK): what the listing-binding tests on real agents start from.
 */
export interface ListingPool {
  pool: Ec2AgentPool;
  remoter: Ec2Remoter;
  close(): Promise<void>;
}

export async function startListingPool(name: string, instances: { min: number; max: number }): Promise<ListingPool> {
  stubAwsEnv();
  const pool = await Ec2AgentPool.start({ name, aws: fakeAwsEnv() });
  const def = ec2Pool(pool.ec2Options);
  const app = def.clouds.app as NonNullable<typeof def.clouds.app>;
  Object.assign(app, { instances, monitor: { ...app.monitor, port: pool.monitorPort } });
  const remoter = createEc2Remoter({
    pool: def,
    cloud: 'app',
    stateDir: join(pool.dir, 'laptop'),
    retryStrategy: fastRetry(),
  });
  return {
    pool,
    remoter,
    close: async () => {
      remoter.client.destroy();
      await pool.close();
    },
  };
}

/** The machine's agent log lines with message `msg`, parsed. */
export async function loggedLines(m: Machine, msg: string): Promise<Record<string, unknown>[]> {
  return (await readFile(m.agentLog, 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l.includes(`"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** For a failed wait's catch: rethrows with the machine's last 30 log lines matching `pattern`. */
export function explainedBy(m: Machine, pattern: RegExp): (err: Error) => Promise<never> {
  return async (err) => {
    const lines = (await readFile(m.agentLog, 'utf8').catch(() => '')).split('\n').filter((l) => pattern.test(l));
    throw new Error(`${err.message}\n${lines.slice(-30).join('\n')}`);
  };
}

/**
 * Launches the first instance by hand and waits until its agent has launched the second (min 2)
 * and both see each other alive under one leader; the last lines of every machine on timeout.
 */
export async function twoUnderOneLeader(
  p: ListingPool,
  clientToken: string,
): Promise<{ leader: Machine; follower: Machine; views: [ClusterView, ClusterView] }> {
  await p.remoter.launch({ cloud: 'app', count: 1, clientToken });
  const both = await waitFor(
    'the leader launched the second machine and both see each other alive under one leader',
    async () => {
      const up = p.pool.machines.running();
      if (up.length !== 2) return null;
      const views = await Promise.all(up.map((m) => p.pool.cluster(m).catch(() => null)));
      const ok = views.every((v) => v?.members.filter((x) => x.state === 'alive').length === 2 && v.leader);
      return ok && views[0]?.leader?.peerId === views[1]?.leader?.peerId ? { up, views } : null;
    },
    { timeoutMs: 90_000, everyMs: 500 },
  ).catch(async (err: Error) => {
    const logs = await Promise.all(
      [...p.pool.machines.machines.values()].map(async (m) => {
        const boot = await readFile(m.bootLog, 'utf8').catch(() => '');
        const agent = (await readFile(m.agentLog, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
        return `== ${m.instanceId} ${m.privateIp}\n${boot.slice(-800)}\n${agent}`;
      }),
    );
    throw new Error(`${err.message}\n${logs.join('\n')}`);
  });
  const views = both.views as [ClusterView, ClusterView];
  const at = views.findIndex((v) => v.self === v.leader?.peerId);
  if (at < 0) throw new Error(`neither agent leads: both follow ${views[0].leader?.peerId}`);
  return {
    leader: both.up[at] as Machine,
    follower: both.up[1 - at] as Machine,
    views: [views[at], views[1 - at]] as [ClusterView, ClusterView],
  };
}
