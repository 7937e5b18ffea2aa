import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIdentity } from '../agent/membership/binding-imds.ts';
import { fetchCluster } from '../cli/monitor-client.ts';
import { type FakeEc2Server, startEc2Server } from './ec2-server/server.ts';
import { cliEnv, fakeAwsEnv } from './fixtures/cli-env.ts';
import { rejected } from './fixtures/fault-pool.ts';
import { killMatching, pidsMatching, randomLoopbackBase } from './fixtures/procs.ts';
import { runCli } from './fixtures/run-cli.ts';
import { startSshHosts } from './fixtures/ssh-hosts.ts';
import { canRunSshd, type Sshd } from './fixtures/sshd.ts';
import { waitFor } from './fixtures/wait.ts';
import { RoguePeer } from './helpers/rogue-peer.ts';

const root = await canRunSshd();
const CLI = resolve('bin/poolparty.mjs');
const ACCOUNT = '123456789012';

/**
 * What binds an EC2 instance whose agent the CLI installs over SSH (issue 15): the same as one
 * booted from user data — its identity document. The provisioner writes the config user data
 * writes (cli/ec2-ssh.ts), so the agent reads the document from the instance's metadata service
 * and carries it in its record, and every agent checks it against the cloud's
 * `identityCertificate`. Here a pool of a local cloud (two agents) and an ec2 cloud with `ssh`
 * (the wire-level EC2 server; the "instance" is a real sshd on a loopback address whose sessions
 * point the agent at a metadata service that signs documents with a test key), bootstrapped with
 * the real CLI, local first. The local agents count the ec2 member only if its document verifies
 * (they would hold it unbound otherwise, and bootstrap would time out); then a key holder that
 * claims a made-up instance with a copy of that document, and one that claims the real instance
 * with it, are refused by every agent of both providers.
 */
describe.skipIf(!root)('an ec2 instance provisioned over SSH is bound by its identity document', () => {
  let dir: string;
  let sshd: Sshd;
  let server: FakeEc2Server;
  let imds: Server;
  let imdsUrl = '';
  let env: NodeJS.ProcessEnv;
  let config: string;
  let prefix: string;
  const rogues: RoguePeer[] = [];
  const name = `ec2b${Math.random().toString(36).slice(2, 7)}`;
  const identity = generateKeyPairSync('rsa', { modulusLength: 2048 });
  /** The metadata service's answers, set when the fake EC2 launches the instance. */
  const served = new Map<string, string>();
  const token = randomBytes(16).toString('hex');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-ec2b-'));
    const hosts = await startSshHosts(dir, 1);
    sshd = hosts.sshds[0] as Sshd;
    prefix = join(dir, 'host1');
    imds = createServer((req, res) => {
      if (req.method === 'PUT' && req.url === '/latest/api/token') return void res.writeHead(200).end(token);
      if (req.headers['x-aws-ec2-metadata-token'] !== token) return void res.writeHead(401).end();
      const value = served.get(req.url ?? '');
      res.writeHead(value === undefined ? 404 : 200).end(value ?? '');
    });
    await new Promise<void>((r) => imds.listen(0, sshd.host, () => r()));
    imdsUrl = `http://${sshd.host}:${(imds.address() as AddressInfo).port}`;
    server = await startEc2Server({
      pendingMs: 500,
      addressesFor: () => ({ privateIp: sshd.host }),
      onLaunch: (inst) => {
        const document = JSON.stringify({
          accountId: ACCOUNT,
          instanceId: inst.instanceId,
          privateIp: inst.privateIp,
          region: 'us-east-1',
        });
        served.set('/latest/dynamic/instance-identity/document', document);
        served.set(
          '/latest/dynamic/instance-identity/signature',
          sign('sha256', Buffer.from(document), identity.privateKey).toString('base64'),
        );
      },
      onTerminate: () => {
        for (const pid of pidsMatching(prefix)) process.kill(pid, 'SIGKILL');
      },
    });
    const aws = fakeAwsEnv({ endpoint: server.endpoint });
    // The agent inherits the SSH session's environment: the fake EC2 and this metadata service.
    const setEnv = { ...aws, AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsUrl };
    await appendFile(
      sshd.config,
      `SetEnv ${Object.entries(setEnv)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}\n`,
    );
    await sshd.restart();

    const agent = { heartbeatInterval: '200ms', suspectAfter: '1s', deadAfter: '2s', leaveGrace: '200ms' };
    const pool = {
      name,
      clouds: {
        loc: {
          instances: { min: 2, max: 2 },
          using: { provider: 'local', firstAddress: randomLoopbackBase() },
          agent,
        },
        app: {
          instances: { min: 1, max: 1 },
          using: {
            provider: 'ec2',
            region: 'us-east-1',
            imageId: 'ami-0123456789abcdef0',
            instanceType: 't3.small',
            identityCertificate: identity.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
            accountId: ACCOUNT,
            ssh: { user: 'root', keyFile: hosts.userKey.keyFile, port: sshd.port, prefix, init: 'none' },
          },
          agent,
          monitor: { host: sshd.host },
        },
      },
    };
    config = join(dir, 'clouds.json');
    await writeFile(config, JSON.stringify(pool, null, 2));
    env = cliEnv(dir, { POOLPARTY_ARTIFACT_DIR: hosts.artifactDir, ...aws });
  }, 180_000);

  afterAll(async () => {
    if (!dir) return;
    await Promise.allSettled(rogues.map((r) => r.stop()));
    await runCli([CLI, 'terminate', '-c', config, '--yes'], env, 120_000).catch(() => undefined);
    await killMatching(dir);
    await sshd?.stop();
    await server?.close();
    imds?.closeAllConnections();
    await new Promise<void>((r) => (imds ? imds.close(() => r()) : r()));
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  }, 180_000);

  const cluster = (monitor: string) => fetchCluster(monitor).catch(() => null);

  it('agents of both providers count it, and refuse copies of its document', async () => {
    // A leader keeps every cloud at its min: the local one launches the ec2 instance (through the
    // same fake EC2: the local agents inherit the CLI's env), which boots without an agent (this
    // image has none, only SSH); the ec2 bootstrap then provisions it as a running instance.
    const loc = await runCli([CLI, 'bootstrap', '-c', config, '--cloud', 'loc', '--json', '--no-wait'], env, 150_000);
    expect(loc.code, loc.stderr).toBe(0);
    await waitFor("the local leader launched the ec2 cloud's instance", () => server.model.instances.size >= 1, {
      timeoutMs: 90_000,
    });
    // A bootstrap of the local cloud now waits for its own agents, not for that agentless
    // instance of another cloud (cli/bootstrap-waited.ts): it timed out, and ended what it launched.
    const again = await runCli(
      [CLI, 'bootstrap', '-c', config, '--cloud', 'loc', '--json', '--timeout', '60s'],
      env,
      150_000,
    );
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { launched: unknown[] }).launched).toEqual([]);
    // Convergence of all three is the CLI's own wait: the local agents must bind the ec2 member.
    const app = await runCli(
      [CLI, 'bootstrap', '-c', config, '--cloud', 'app', '--json', '--timeout', '90s'],
      env,
      200_000,
    );
    expect(app.code, app.stderr).toBe(0);
    const out = JSON.parse(app.stdout) as { instances: { id: string; monitor?: string }[] };
    expect(out.instances).toHaveLength(3);
    const ec2Id = out.instances.find((i) => i.id.startsWith('i-'))?.id as string;
    const monitors = out.instances.map((i) => i.monitor as string);
    const ids = out.instances.map((i) => i.id).sort();
    for (const m of monitors) {
      const alive = (await cluster(m))?.members.filter((x) => x.state === 'alive').map((x) => x.instanceId);
      expect(alive?.sort(), `${m} counts all three`).toEqual(ids);
    }

    const copied = await readIdentity(imdsUrl);
    const keyFile = join(dir, 'state', 'pool.key');
    for (let i = 0; i < 2; i++) rogues.push(await RoguePeer.start(name, keyFile));
    const seeds = (await Promise.all(monitors.map(cluster))).flatMap((v) =>
      (v?.members ?? []).flatMap((m) => m.addrs ?? []),
    );
    for (const r of rogues) {
      await r.join([...new Set(seeds)]);
      await r.answerProbes();
    }
    const [madeUp, taker] = rogues as [RoguePeer, RoguePeer];
    await madeUp.claim('i-0fffffffffffffff1', 'app', { addrs: [], identity: copied });
    await taker.claim(ec2Id, 'app', { addrs: [], identity: copied });
    await waitFor('both claims refused on every agent', async () => {
      const counts = await Promise.all(
        monitors.map(async (m) => (await rejected(m, 'unbound')) + (await rejected(m, 'instance-taken'))),
      );
      return counts.every((c) => c >= 2);
    });
    for (const m of monitors) {
      const view = await cluster(m);
      const peers = view?.members.map((x) => x.peerId) ?? [];
      for (const r of rogues) expect(peers, `${m} counts no rogue`).not.toContain(r.peerId);
      const alive = view?.members.filter((x) => x.state === 'alive').map((x) => x.instanceId);
      expect(alive?.sort(), `${m} still counts exactly the three`).toEqual(ids);
    }
  }, 420_000);
});
