import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIdentity } from '../agent/membership/binding-imds.ts';
import { createEc2Remoter, type Ec2Remoter } from '../shared/remoter/ec2.ts';
import type { ClusterView } from '../shared/wire/cluster.ts';
import { ec2Pool, fastRetry, stubAwsEnv } from './ec2-fixtures.ts';
import { type FakeEc2Server, startEc2Server } from './ec2-server/server.ts';
import { Ec2Machines } from './fixtures/ec2-instances.ts';
import { rejected } from './fixtures/fault-pool.ts';
import { randomLoopbackBase } from './fixtures/procs.ts';
import { waitFor } from './fixtures/wait.ts';
import { RoguePeer } from './helpers/rogue-peer.ts';

/**
 * EC2 membership binding with real agents: the wire-level EC2 server launches "machines" whose
 * IMDSv2 serves an identity document signed with a test key (the cloud's identityCertificate is
 * its public half). The first agent, alone below min, launches the second through the real AWS
 * SDK; both read their documents, carry them in their records and bind each other — they would
 * not see each other otherwise. Then two key holders copy the first machine's signed document:
 * one claims that machine's instance id, the other a made-up one. Neither is a member anywhere.
 */

const execAsync = promisify(execFile);
const ACCOUNT = '123456789012';

describe('EC2 members bound by their identity documents (real agents)', () => {
  let dir: string;
  let server: FakeEc2Server;
  let machines: Ec2Machines;
  let remoter: Ec2Remoter;
  const rogues: RoguePeer[] = [];

  beforeAll(async () => {
    stubAwsEnv();
    dir = await mkdtemp(join(tmpdir(), 'poolparty-ec2-binding-'));
    await execAsync(process.execPath, ['scripts/build-artifact.mjs', '--outdir', join(dir, 'artifact')]);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    machines = new Ec2Machines({
      dir: join(dir, 'machines'),
      firstAddress: randomLoopbackBase(),
      agent: join(dir, 'artifact', 'poolparty-agent.mjs'),
      agentEnv: {
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
        AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
      },
      identity: { key: privateKey, region: 'us-east-1', accountId: ACCOUNT },
    });
    server = await startEc2Server({
      pendingMs: 200,
      addressesFor: machines.addressesFor,
      onLaunch: machines.onLaunch,
      onTerminate: machines.onTerminate,
    });
    const pool = ec2Pool({
      endpoint: server.endpoint,
      identityCertificate: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    });
    // Two members: the load rule a busy test machine could trip has no room to act.
    Object.assign(pool.clouds.app as object, { instances: { min: 2, max: 2 } });
    remoter = createEc2Remoter({ pool, cloud: 'app', stateDir: join(dir, 'laptop'), retryStrategy: fastRetry() });
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(rogues.map((r) => r.stop()));
    await machines?.close();
    await server?.close();
    remoter?.client.destroy();
    if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  }, 60_000);

  const cluster = (ip: string) =>
    fetch(`http://${ip}:8642/cluster`, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.json() as Promise<ClusterView>)
      .catch(() => null);

  it('members with signed documents bind each other; copies of a document bind nobody', async () => {
    await remoter.launch({ cloud: 'app', count: 1, clientToken: 'binding-first' });
    const both = await waitFor(
      'the leader launched the second machine and both see each other alive',
      async () => {
        const up = machines.running();
        if (up.length !== 2) return null;
        const views = await Promise.all(up.map((m) => cluster(m.privateIp)));
        const ok = views.every((v) => v?.members.filter((m) => m.state === 'alive').length === 2);
        return ok ? up : null;
      },
      { timeoutMs: 90_000, everyMs: 500 },
    ).catch(async (err: Error) => {
      const logs = await Promise.all(
        [...machines.machines.values()].map(async (m) => {
          const text = await readFile(m.agentLog, 'utf8').catch(() => '');
          const boot = await readFile(m.bootLog, 'utf8').catch(() => '');
          const lines = text.split('\n').filter((l) => l && !l.includes('"level":"debug"'));
          return [`== ${m.instanceId}`, boot.slice(-500), ...lines.slice(-25).map((l) => l.slice(0, 300))].join('\n');
        }),
      );
      throw new Error(`${err.message}\n${logs.join('\n')}`);
    });
    const [first] = both;
    if (!first?.imds) throw new Error('no metadata service');
    const copied = await readIdentity(first.imds);

    const keyFile = join(dir, 'laptop', 'pool.key');
    for (let i = 0; i < 2; i++) {
      const rogue = await RoguePeer.start('web', keyFile);
      rogues.push(rogue);
      await rogue.join(both.map((m) => `/ip4/${m.privateIp}/tcp/8643`));
    }
    // One claims the first machine with its copied document; one an instance that does not exist.
    const claims = [first.instanceId, 'i-0fffffffffffffff1'];
    for (const [i, rogue] of rogues.entries())
      await rogue.claim(claims[i] as string, 'app', { addrs: [], identity: copied });

    const rogueIds = rogues.map((r) => r.peerId);
    await waitFor('both claims refused on every member', async () => {
      const counts = await Promise.all(
        both.map(async (m) => {
          const monitor = `http://${m.privateIp}:8642`;
          return (await rejected(monitor, 'unbound')) + (await rejected(monitor, 'instance-taken'));
        }),
      );
      return counts.every((c) => c >= 2);
    });
    for (const m of both) {
      const view = await cluster(m.privateIp);
      const ids = view?.members.map((x) => x.peerId) ?? [];
      for (const r of rogueIds) expect(ids, `${m.instanceId} counts no rogue`).not.toContain(r);
      expect(
        view?.members
          .filter((x) => x.state === 'alive')
          .map((x) => x.instanceId)
          .sort(),
      ).toEqual(both.map((b) => b.instanceId).sort());
    }
  }, 180_000);
});
