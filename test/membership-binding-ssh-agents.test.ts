import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSshUsing, type SshUsingDefinition } from '../shared/config/ssh-schema.ts';
import { remoteLayout } from '../shared/provision/layout.ts';
import { SshRemoter } from '../shared/remoter/ssh.ts';
import { ensureLauncherKey, mintCertificate } from '../shared/remoter/ssh-certificate.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import type { ClusterView } from '../shared/wire/cluster.ts';
import { killMatching } from './fixtures/procs.ts';
import { sshAgentConfig, startSshHosts } from './fixtures/ssh-hosts.ts';
import { canRunSshd, type Sshd } from './fixtures/sshd.ts';
import { waitFor } from './fixtures/wait.ts';
import { RoguePeer } from './helpers/rogue-peer.ts';

const root = await canRunSshd();

/**
 * ssh membership bound by launcher certificates, on real agents: two sshd on 127.a.b.2-3, each
 * host provisioned by the ssh remoter (as `bootstrap` does), whose agents carry the certificates
 * the CLI signed. Four peers hold the pool key and join as raw libp2p nodes, answering probes:
 *  - "bare" claims a host with no certificate;
 *  - "forger" claims a host with a certificate signed by a key of its own;
 *  - "copier" claims host 1 with host 1's real certificate (read from its agent.json);
 *  - "certified" claims a host with a certificate minted by the pool's launcher key for its own
 *    peer id — what the CLI would give a host it provisioned — and so must be a member.
 * Run against the tree before ssh binding, the first three are members like any other.
 */
describe.skipIf(!root)('ssh members bound by launcher certificates (real sshd, real agents)', () => {
  let dir: string;
  let stateDir: string;
  const sshds: Sshd[] = [];
  const rogues: RoguePeer[] = [];
  let using: SshUsingDefinition;
  let remoter: SshRemoter;
  let base: string;
  const pool = `sshb${Math.random().toString(36).slice(2, 7)}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-sshb-'));
    stateDir = join(dir, 'state');
    const hosts = await startSshHosts(dir, 2);
    sshds.push(...hosts.sshds);
    using = parseSshUsing(hosts.rawUsing);
    base = (sshds[0] as Sshd).host.replace(/\.2$/, '');
    const agentConfig = sshAgentConfig(pool);
    remoter = new SshRemoter({ pool, cloud: 'web', using, stateDir, agentConfig, artifact: hosts.artifactDir });
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(rogues.map((r) => r.stop()));
    await killMatching(dir); // agents run from <dir>/hostN/opt/poolparty
    for (const s of sshds) await s.stop();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  const cluster = async (host: string) =>
    (await (
      await fetch(`http://${host}:${using.monitorPort}/cluster`, { signal: AbortSignal.timeout(2000) })
    ).json()) as ClusterView;
  const rejected = async (host: string, reason: string) => {
    const text = await (await fetch(`http://${host}:${using.monitorPort}/metrics`)).text();
    const match = text.match(new RegExp(`^poolparty_heartbeats_rejected_total\\{reason="${reason}"\\} (\\d+)`, 'm'));
    return Number(match?.[1] ?? 0);
  };

  it('a key holder without a valid certificate for its claim is not a member; one with a certificate is', async () => {
    const records = await remoter.launch({ cloud: 'web', count: 2, clientToken: 'boot-1' });
    const [first] = records;
    if (!first?.peerId) throw new Error('no first host');
    const real = records.map((r) => r.peerId as string);
    for (const s of sshds) {
      await waitFor(
        `both agents alive as ${s.host} sees them`,
        async () => (await cluster(s.host)).members.filter((m) => m.state === 'alive').length === 2,
        { timeoutMs: 30_000 },
      );
    }
    const firstConfig = JSON.parse(await readFile(remoteLayout(join(dir, 'host1')).configFile, 'utf8')) as AgentConfig;
    const copied = firstConfig.launcher?.certificate;
    expect(copied, 'the CLI wrote host 1 its certificate').toBeDefined();
    expect(JSON.stringify(firstConfig)).not.toContain('PRIVATE KEY');

    const keyFile = join(stateDir, 'pool.key');
    const [bare, forger, copier, certified] = await Promise.all([1, 2, 3, 4].map(() => RoguePeer.start(pool, keyFile)));
    if (!bare || !forger || !copier || !certified) throw new Error('rogues did not start');
    rogues.push(bare, forger, copier, certified);
    const agents = sshds.map((s) => `/ip4/${s.host}/tcp/${using.p2pPort}`);
    for (const r of rogues) {
      await r.join(agents);
      await r.answerProbes();
    }
    const mint = async (stateOf: string, peerId: string, instanceId: string) =>
      mintCertificate(await ensureLauncherKey(stateOf), {
        pool,
        cloud: 'web',
        instanceId,
        peerId,
        issuedAt: Date.now(),
        expiresAt: Date.now() + 3_600_000,
      });
    await bare.claim(`${base}.9`, 'web');
    await forger.claim(`${base}.10`, 'web', {
      identity: await mint(join(dir, 'forged-state'), forger.peerId, `${base}.10`),
    });
    await copier.claim(first.id, 'web', copied ? { identity: copied } : {});
    await certified.claim(`${base}.11`, 'web', {
      identity: await mint(stateDir, certified.peerId, `${base}.11`),
    });

    // Every claim has been decided once each agent counts the certified peer and either refused
    // the bare and forged claims (unbound) and the copied one (host 1 is held by its real agent),
    // or counts one of them (which the assertions below then report).
    const bad = [bare, forger, copier].map((r) => r.peerId);
    for (const s of sshds) {
      await waitFor(
        `${s.host} decided every claim`,
        async () => {
          const ids = (await cluster(s.host)).members.map((m) => m.peerId);
          if (!ids.includes(certified.peerId)) return false;
          if (ids.some((id) => bad.includes(id))) return true;
          return (await rejected(s.host, 'unbound')) >= 2 && (await rejected(s.host, 'instance-taken')) >= 1;
        },
        { timeoutMs: 30_000, everyMs: 250 },
      );
    }
    for (const s of sshds) {
      const members = (await cluster(s.host)).members;
      const ids = members.map((m) => m.peerId);
      expect(ids, `${s.host} counts the real agents and the certified peer only`).toEqual(
        expect.arrayContaining([...real, certified.peerId]),
      );
      for (const r of [bare, forger, copier]) expect(ids, `${s.host}`).not.toContain(r.peerId);
      expect(members.find((m) => m.instanceId === first.id)?.peerId, 'host 1 is still its real agent').toBe(
        first.peerId,
      );
    }
  }, 240_000);
});
