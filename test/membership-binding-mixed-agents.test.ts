import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePool } from '../shared/config/load.ts';
import type { BoundPool } from '../shared/config/pool-binding.ts';
import { resolveAgentConfig } from '../shared/config/resolve.ts';
import type { SshUsingDefinition } from '../shared/config/ssh-schema.ts';
import { createLocalRemoter, type LocalRemoter } from '../shared/remoter/local.ts';
import { withLauncherBinding } from '../shared/remoter/pool-binding.ts';
import { SshRemoter } from '../shared/remoter/ssh.ts';
import { ensureLauncherKey, mintCertificate } from '../shared/remoter/ssh-certificate.ts';
import type { ClusterView } from '../shared/wire/cluster.ts';
import { killMatching, randomLoopbackBase } from './fixtures/procs.ts';
import { startSshHosts } from './fixtures/ssh-hosts.ts';
import { canRunSshd, type Sshd } from './fixtures/sshd.ts';
import { waitFor } from './fixtures/wait.ts';
import { RoguePeer } from './helpers/rogue-peer.ts';

const root = await canRunSshd();

/**
 * A mixed pool on real agents: cloud `loc` (local provider, two agents spawned by the local
 * launcher) and cloud `web` (ssh provider, two agents provisioned by the ssh remoter on two real
 * sshd on 127.a.b.2-3, as root on this machine, so they can read the local launcher's record).
 * The launcher stamps the pool's binding table first (as the CLI does), so every agent carries the
 * ssh launcher's public key and the local record's path. Three pool-key holders join as raw libp2p
 * nodes and answer probes:
 *  - "fake-local" claims local instance local-99, which the local launcher never made;
 *  - "forged-ssh" claims an ssh host with a certificate signed by a key of its own;
 *  - "expired-ssh" claims an ssh host with a certificate the pool's real launcher key signed for its
 *    own peer id, but expired.
 * Each claim must be refused by members of both kinds, and the four real agents must count each
 * other. Before the binding table, local agents held no launcher key (the ssh claims were
 * unchecked: first claim wins) and ssh agents could not read the local record (local-99 was
 * unchecked), so each rogue was a member on one side.
 */
describe.skipIf(!root)('a pool of a local and an ssh cloud binds both clouds on both kinds of agent', () => {
  let dir: string;
  let stateDir: string;
  const sshds: Sshd[] = [];
  const rogues: RoguePeer[] = [];
  let local: LocalRemoter | undefined;
  let pool: BoundPool;
  let web: SshUsingDefinition;
  const name = `mix${Math.random().toString(36).slice(2, 7)}`;
  // Fast membership, as the ssh binding test's agents have, on both clouds.
  const agent = { heartbeatInterval: 200, suspectAfter: 1000, deadAfter: 2000, leaveGrace: 200 };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-mixb-'));
    stateDir = join(dir, 'state');
    const hosts = await startSshHosts(dir, 2);
    sshds.push(...hosts.sshds);
    const parsed = parsePool(
      {
        name,
        clouds: {
          loc: {
            instances: { min: 2, max: 2 },
            using: { provider: 'local', firstAddress: randomLoopbackBase() },
            agent,
          },
          web: { instances: { min: 2, max: 2 }, using: hosts.rawUsing, agent },
        },
      },
      'mixed.json',
    );
    pool = (await withLauncherBinding({ pool: parsed, stateDir })).pool;
    web = pool.clouds.web?.using as SshUsingDefinition;
    local = createLocalRemoter({ pool, cloud: 'loc', stateDir });
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled(rogues.map((r) => r.stop()));
    const ids = (await local?.list({ pool: name }).catch(() => []))?.map((i) => i.id) ?? [];
    if (ids.length > 0) await local?.terminate(ids).catch(() => undefined);
    await killMatching(dir); // ssh agents run from <dir>/hostN/opt/poolparty; any local one left
    for (const s of sshds) await s.stop();
    await rm(dir, { recursive: true, force: true });
  }, 90_000);

  const cluster = async (monitor: string) =>
    (await (await fetch(`${monitor}/cluster`, { signal: AbortSignal.timeout(2000) })).json()) as ClusterView;
  const rejected = async (monitor: string) => {
    const text = await (await fetch(`${monitor}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const match = text.match(/^poolparty_heartbeats_rejected_total\{reason="unbound"\} (\d+)/m);
    return Number(match?.[1] ?? 0);
  };

  it('carries the table to agents of both providers, and each refuses forged claims on the other cloud', async () => {
    if (!local) throw new Error('no local remoter');
    expect(pool.binding?.web).toMatchObject({ provider: 'ssh', publicKey: expect.stringContaining('PUBLIC KEY') });
    expect(pool.binding?.loc).toEqual({ provider: 'local', records: join(stateDir, 'local', 'instances.json') });

    const locals = await local.launch({ cloud: 'loc', count: 2, clientToken: 'mix-loc' });
    const { p2pPort } = (pool.clouds.loc as { using: { p2pPort: number } }).using;
    const localAddrs = locals.map((i) => `/ip4/${i.address}/tcp/${p2pPort}/p2p/${i.peerId}`);
    // The ssh hosts are told where the local agents are, so the pool meets at once: the local
    // agents, started first, reach the ssh hosts named in the definition only at a later join round.
    const ssh = new SshRemoter({
      pool: name,
      cloud: 'web',
      using: web,
      stateDir,
      artifact: join(dir, 'artifact'),
      clouds: { loc: 'local', web: 'ssh' },
      agentConfig: (rt) => {
        const c = resolveAgentConfig(pool, 'web', rt);
        return { ...c, bootstrap: [...c.bootstrap, ...localAddrs] };
      },
    });
    const hosts = await ssh.launch({ cloud: 'web', count: 2, clientToken: 'mix-web' });
    const real = [...locals, ...hosts].map((i) => i.peerId as string);
    const monitors = [
      ...locals.map((i) => i.monitor as string),
      ...sshds.map((s) => `http://${s.host}:${web.monitorPort}`),
    ];
    for (const m of monitors) {
      await waitFor(
        `all four agents alive as ${m} sees them`,
        async () => (await cluster(m)).members.filter((x) => x.state === 'alive').length === 4,
        { timeoutMs: 60_000, everyMs: 250 },
      );
    }

    const keyFile = join(stateDir, 'pool.key');
    const [fakeLocal, forgedSsh, expiredSsh] = await Promise.all([1, 2, 3].map(() => RoguePeer.start(name, keyFile)));
    if (!fakeLocal || !forgedSsh || !expiredSsh) throw new Error('rogues did not start');
    rogues.push(fakeLocal, forgedSsh, expiredSsh);
    const agents = [...localAddrs, ...sshds.map((s) => `/ip4/${s.host}/tcp/${web.p2pPort}`)];
    for (const r of rogues) {
      await r.join(agents);
      await r.answerProbes();
    }
    const base = (sshds[0] as Sshd).host.replace(/\.2$/, '');
    const launcherKey = await ensureLauncherKey(stateDir);
    const ownKey = generateKeyPairSync('ed25519');
    const now = Date.now();
    const certificate = (peerId: string, instanceId: string, expiresAt: number) => ({
      pool: name,
      cloud: 'web',
      instanceId,
      peerId,
      issuedAt: now - 7_200_000,
      expiresAt,
    });
    await fakeLocal.claim('local-99', 'loc');
    await forgedSsh.claim(`${base}.9`, 'web', {
      identity: mintCertificate(
        { privateKey: ownKey.privateKey, publicKeyPem: '' },
        certificate(forgedSsh.peerId, `${base}.9`, now + 3_600_000),
      ),
    });
    await expiredSsh.claim(`${base}.10`, 'web', {
      identity: mintCertificate(launcherKey, certificate(expiredSsh.peerId, `${base}.10`, now - 3_600_000)),
    });

    // Decided once each agent refused all three (unbound), or counts one of them (reported below).
    const bad = rogues.map((r) => r.peerId);
    for (const m of monitors) {
      await waitFor(
        `${m} decided every claim`,
        async () => {
          const ids = (await cluster(m)).members.map((x) => x.peerId);
          return ids.some((id) => bad.includes(id)) || (await rejected(m)) >= 3;
        },
        { timeoutMs: 30_000, everyMs: 250 },
      );
    }
    for (const m of monitors) {
      const ids = (await cluster(m)).members.map((x) => x.peerId);
      expect(ids, `${m} counts the four real agents`).toEqual(expect.arrayContaining(real));
      expect(ids, `${m}: local-99 without a record`).not.toContain(fakeLocal.peerId);
      expect(ids, `${m}: a certificate the launcher did not sign`).not.toContain(forgedSsh.peerId);
      expect(ids, `${m}: an expired certificate`).not.toContain(expiredSsh.peerId);
    }
  }, 300_000);
});
