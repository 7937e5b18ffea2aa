import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bootstrapPool } from '../cli/commands/bootstrap.ts';
import type { PoolContext } from '../cli/context.ts';
import { parsePool } from '../shared/config/load.ts';
import type { AgentRuntime } from '../shared/config/resolve.ts';
import { parseSshUsing, type SshUsingDefinition } from '../shared/config/ssh-schema.ts';
import { type AgentConfigContext, provisionHost } from '../shared/provision/provision.ts';
import { SshRemoter } from '../shared/remoter/ssh.ts';
import { ensureLauncherKey, withCertificate } from '../shared/remoter/ssh-certificate.ts';
import type { SshState } from '../shared/remoter/ssh-state.ts';
import type { ClusterView } from '../shared/wire/cluster.ts';
import { killMatching, pidsMatching, rootPidsMatching } from './fixtures/procs.ts';
import { sshAgentConfig, startSshHosts } from './fixtures/ssh-hosts.ts';
import { canRunSshd, freePort, generateKey, type Sshd } from './fixtures/sshd.ts';
import { waitFor } from './fixtures/wait.ts';

const root = await canRunSshd();
/** Provisioning real hosts on a loaded shared machine takes tens of seconds; bounded all the same. */
const SLOW = 150_000;

/**
 * The ssh remoter base against real OpenSSH servers: three sshd on 127.a.b.2-4 (one filesystem,
 * so each host installs under its own prefix), the single-file agent provisioned with init 'none',
 * real agents gossiping, then terminate.
 */
describe.skipIf(!root)('ssh remoter base (real sshd)', () => {
  let dir: string;
  let artifactDir: string;
  let stateDir: string;
  let userKey: { keyFile: string; publicKey: string };
  const sshds: Sshd[] = [];
  let using: SshUsingDefinition;
  let rawUsing: Record<string, unknown>;
  let remoter: SshRemoter;
  const events: { type: string; host?: string; status?: string }[] = [];

  const pool = `ssh${Math.random().toString(36).slice(2, 7)}`;
  const agentConfig = sshAgentConfig(pool);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-ssh-'));
    stateDir = join(dir, 'state');
    const hosts = await startSshHosts(dir, 3);
    ({ artifactDir, userKey, rawUsing } = hosts);
    sshds.push(...hosts.sshds);
    using = parseSshUsing(rawUsing);
    remoter = new SshRemoter({
      pool,
      cloud: 'web',
      using,
      stateDir,
      agentConfig,
      artifact: artifactDir,
      onProgress: (e) => events.push(e as (typeof events)[number]),
    });
  }, 120_000);

  afterAll(async () => {
    vi.unstubAllEnvs();
    await killMatching(dir); // agents run from <dir>/hostN/opt/poolparty: the safety net
    for (const s of sshds) await s.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Agent processes of host i. The agent forks to run metric commands and a child shows the
   * agent's command line until it execs: a match whose parent matches is not another agent.
   */
  const agentPids = (i: number) =>
    rootPidsMatching(`${join(dir, `host${i + 1}`)}/opt/poolparty/poolparty-agent.mjs --config`);
  const cluster = async (host: string) =>
    (await (
      await fetch(`http://${host}:${using.monitorPort}/cluster`, { signal: AbortSignal.timeout(2000) })
    ).json()) as ClusterView;
  /** Exactly one agent on host i; on failure the message carries that agent's log tail. */
  const expectOneAgent = async (i: number) => {
    const pids = agentPids(i);
    if (pids.length === 1) return pids[0] as number;
    const log = await readFile(join(dir, `host${i + 1}`, 'var', 'log', 'poolparty', 'agent.log'), 'utf8').catch(
      (e: Error) => e.message,
    );
    // ppid, pgid and start time tell a leftover from a double start
    const procs = pids.map(
      (p) =>
        `${p}: ${(() => {
          try {
            return readFileSync(`/proc/${p}/stat`, 'utf8');
          } catch {
            return 'gone';
          }
        })()}`,
    );
    expect.fail(
      `host${i + 1}: ${pids.length} agents\n${procs.join('\n')}\nlog tail:\n${log.split('\n').slice(-12).join('\n')}`,
    );
  };
  /**
   * A host provisioned by hand gets what the remoter gives its agents: the config and a launcher
   * certificate for its peer id (without one, the other agents do not count it).
   */
  const certifiedConfig = async (ctx: AgentConfigContext, rt: AgentRuntime) =>
    withCertificate(agentConfig(rt), await ensureLauncherKey(stateDir), { web: 'ssh' }, ctx.peerId);
  /** What the remoter would give a re-provisioned agent: the other running agents. */
  const peersExcept = async (id: string) =>
    (await remoter.list({ pool }))
      .filter((r) => r.id !== id && r.state === 'running')
      .map((r) => `/ip4/${r.host}/tcp/${using.p2pPort}/p2p/${r.peerId}`);
  const allAlive = async (n: number) => {
    for (const s of sshds) {
      await waitFor(
        `${n} alive members seen by ${s.host}`,
        async () => {
          const view = await cluster(s.host);
          return view.members.filter((m) => m.state === 'alive').length === n ? view : undefined;
        },
        { timeoutMs: 15_000 },
      );
    }
  };

  it(
    'launches three hosts: one real agent each, gossiping, monitors on http://<host>:8642',
    async () => {
      const records = await remoter.launch({ cloud: 'web', count: 3, clientToken: 'boot-1' });
      expect(records.map((r) => r.host).sort()).toEqual(sshds.map((s) => s.host).sort());
      expect(records.every((r) => r.state === 'running' && r.peerId)).toBe(true);
      expect(records.map((r) => r.monitor)).toEqual(sshds.map((s) => `http://${s.host}:8642`));
      for (let i = 0; i < 3; i++) await expectOneAgent(i);
      await allAlive(3);
      const view = await cluster(sshds[0]?.host as string);
      expect(view.members.map((m) => m.peerId).sort()).toEqual(records.map((r) => r.peerId).sort());

      // trust on first use: each host key recorded (OpenSSH format) and reported with its fingerprint
      const known = await readFile(join(stateDir, 'known_hosts'), 'utf8');
      for (const s of sshds) {
        expect(known).toContain(`[${s.host}]:${s.port} ssh-ed25519 `);
        const fp = await s.fingerprint();
        expect(events).toContainEqual(
          expect.objectContaining({ type: 'host-key', host: s.host, status: 'added', fingerprint: fp }),
        );
      }
      const list = await remoter.list({ pool });
      expect(list.map((r) => [r.state, r.agent])).toEqual([
        ['running', 'healthy'],
        ['running', 'healthy'],
        ['running', 'healthy'],
      ]);
    },
    SLOW,
  );

  it(
    'is idempotent per client token and refuses more hosts than the cloud has',
    async () => {
      const again = await remoter.launch({ cloud: 'web', count: 3, clientToken: 'boot-1' });
      const listed = await remoter.list({ pool });
      expect(again.map((r) => r.id).sort(), 'same token, same instances').toEqual(listed.map((r) => r.id).sort());
      await expect(remoter.launch({ cloud: 'web', count: 1, clientToken: 'more' })).rejects.toThrow(
        /0 free hosts of 3/,
      );
      for (let i = 0; i < 3; i++) await expectOneAgent(i);
    },
    SLOW,
  );

  it(
    're-provisioning upgrades in place: still one agent, same peer id, back in the pool',
    async () => {
      const before = (await remoter.list({ pool }))[0];
      const oldPids = agentPids(0);
      const host = using.hosts[0];
      if (!host || !before?.peerId) throw new Error('no first host');
      const result = await provisionHost({
        target: {
          host: host.host,
          port: host.port,
          prefix: host.prefix,
          user: 'root',
          keyFile: userKey.keyFile,
          init: 'none',
        },
        knownHostsFile: join(stateDir, 'known_hosts'),
        poolKeyFile: join(stateDir, 'pool.key'),
        artifact: artifactDir,
        agentConfig: async (ctx: AgentConfigContext) =>
          certifiedConfig(ctx, {
            instanceId: before.id,
            ...ctx.paths,
            listen: [`/ip4/${host.host}/tcp/${using.p2pPort}`],
            bootstrap: await peersExcept(before.id),
            monitor: { host: host.host, port: using.monitorPort, url: before.monitor as string },
          }),
      });
      expect(result.peerId).toBe(before.peerId);
      expect(result.artifactUploaded).toBe(false);
      expect(result.hostKey.status).toBe('known');
      expect(result.replacedPids).toEqual(oldPids);
      expect(agentPids(0)).toEqual([result.pid]);
      await allAlive(3);
    },
    SLOW,
  );

  it(
    'refuses a changed host key, and replaces it only when asked',
    async () => {
      const s = sshds[1] as Sshd;
      const oldFp = await s.fingerprint();
      await s.stop(false);
      await s.newHostKey();
      await s.restart();
      const newFp = await s.fingerprint();
      const pids = agentPids(1);
      const host = using.hosts[1];
      if (!host) throw new Error('no second host');
      const target = {
        host: host.host,
        port: host.port,
        prefix: host.prefix,
        user: 'root',
        keyFile: userKey.keyFile,
        init: 'none' as const,
      };
      const opts = {
        target,
        knownHostsFile: join(stateDir, 'known_hosts'),
        poolKeyFile: join(stateDir, 'pool.key'),
        artifact: artifactDir,
        agentConfig: async (ctx: AgentConfigContext) =>
          certifiedConfig(ctx, {
            instanceId: `${host.host}:${host.port}`,
            ...ctx.paths,
            listen: [`/ip4/${host.host}/tcp/${using.p2pPort}`],
            bootstrap: await peersExcept(`${host.host}:${host.port}`),
            monitor: { host: host.host, port: using.monitorPort, url: `http://${host.host}:${using.monitorPort}` },
          }),
      };
      const err = await provisionHost(opts).catch((e: Error) => e);
      expect(err).toMatchObject({ name: 'HostKeyMismatchError', expected: oldFp, got: newFp });
      expect((err as Error).message).toContain(`[${host.host}]:${host.port}`);
      expect(agentPids(1)).toEqual(pids); // nothing was touched
      const replaced = await provisionHost({ ...opts, acceptNewHostKey: true });
      expect(replaced.hostKey).toMatchObject({ status: 'replaced', fingerprint: newFp, previous: oldFp });
      const known = await readFile(join(stateDir, 'known_hosts'), 'utf8');
      expect(known.split('\n').filter((l) => l.startsWith(`[${host.host}]:${host.port} `))).toHaveLength(1);
      await expectOneAgent(1);
    },
    SLOW,
  );

  it(
    'names the user and key file when the key is refused',
    async () => {
      const other = await generateKey(dir, 'stranger_key');
      const host = using.hosts[2];
      if (!host) throw new Error('no third host');
      const err = await provisionHost({
        target: {
          host: host.host,
          port: host.port,
          prefix: host.prefix,
          user: 'root',
          keyFile: other.keyFile,
          init: 'none',
        },
        knownHostsFile: join(stateDir, 'known_hosts'),
        poolKeyFile: join(stateDir, 'pool.key'),
        artifact: artifactDir,
        agentConfig: () => {
          throw new Error('must not get this far');
        },
      }).catch((e: Error) => e);
      expect(err).toMatchObject({ name: 'SshAuthError' });
      expect((err as Error).message).toContain(`root@${host.host}:${host.port}`);
      expect((err as Error).message).toContain(other.keyFile);
    },
    SLOW,
  );

  it(
    'reports an unreachable host after its wait timeout, and a missing key file at once',
    async () => {
      const host = sshds[0]?.host.replace(/\.2$/, '.5') as string;
      const port = await freePort(host);
      const common = {
        knownHostsFile: join(stateDir, 'known_hosts'),
        poolKeyFile: join(stateDir, 'pool.key'),
        artifact: artifactDir,
        agentConfig: () => {
          throw new Error('must not get this far');
        },
      };
      const err = await provisionHost({
        ...common,
        target: { host, port, user: 'root', keyFile: userKey.keyFile },
        timeouts: { waitTimeout: 1500, retryInterval: 300 },
      }).catch((e: Error) => e);
      expect(err).toMatchObject({ name: 'SshUnreachableError' });
      expect((err as Error).message).toMatch(
        new RegExp(
          `cannot reach ${host.replaceAll('.', '\\.')}:${port} over SSH within 1\\.5s \\(\\d+ attempts\\): connect ECONNREFUSED`,
        ),
      );
      const missing = await provisionHost({
        ...common,
        target: { host, port, user: 'root', keyFile: join(dir, 'nope') },
      }).catch((e: Error) => e);
      expect(missing).toMatchObject({
        name: 'SshKeyFileError',
        message: `cannot read SSH key file ${join(dir, 'nope')}: ENOENT`,
      });
    },
    SLOW,
  );

  it(
    'a re-run bootstrap replaces a dead agent (init none) in place: same host, same peer id, one agent',
    async () => {
      const before = (await remoter.list({ pool })).find((r) => r.host === sshds[2]?.host);
      if (!before?.peerId) throw new Error('no third host record');
      for (const pid of agentPids(2)) process.kill(pid, 'SIGKILL');
      await waitFor('the third agent gone', () => agentPids(2).length === 0);
      expect((await remoter.list({ pool })).map((r) => [r.id, r.state, r.agent])).toContainEqual([
        before.id,
        'running',
        'unreachable',
      ]);

      vi.stubEnv('POOLPARTY_ARTIFACT_DIR', artifactDir);
      const ctx: PoolContext = {
        pool: parsePool(
          { name: pool, clouds: { web: { instances: { min: 3, max: 3 }, using: rawUsing } } },
          'ssh.json',
        ),
        configFile: 'ssh.json',
        stateDir,
        clouds: ['web'],
        remoter: () => remoter,
      };
      const progress: string[] = [];
      const io = { out: () => {}, progress: (l: string) => progress.push(l), stdin: process.stdin };
      const result = await bootstrapPool(ctx, 'web', { timeoutMs: 60_000, wait: false }, io);
      expect(progress).toContain('launching 1 instance in cloud web (2 running)');
      expect(result.launched.map((r) => [r.id, r.state])).toEqual([[before.id, 'running']]);
      expect((result.launched[0] as { peerId?: string }).peerId).toBe(before.peerId);
      for (let i = 0; i < 3; i++) await expectOneAgent(i);
      await allAlive(3);

      // Everything answers now: a further re-run launches nothing.
      const again = await bootstrapPool(ctx, 'web', { timeoutMs: 60_000, wait: false }, io);
      expect(again.launched).toEqual([]);
    },
    SLOW,
  );

  it(
    'reconcile adopts a launch cut short whose agent runs, and frees one whose agent does not',
    async () => {
      const file = join(stateDir, 'ssh', 'hosts.json');
      const state = JSON.parse(await readFile(file, 'utf8')) as SshState;
      const [first, second] = state.hosts;
      if (!first || !second) throw new Error('no hosts');
      // Two launches whose launcher died: host1's agent runs, host2's is killed.
      for (const h of [first, second]) Object.assign(h, { state: 'pending', launcherPid: 2 ** 22 + 1 });
      await writeFile(file, JSON.stringify(state));
      for (const pid of agentPids(1)) process.kill(pid, 'SIGKILL');
      await waitFor('the second agent gone', () => agentPids(1).length === 0);

      const report = await remoter.reconcile({ pool, cloud: 'web' });
      expect(report).toEqual({ adopted: [first.id], cleared: [second.id], strays: [] });
      const listed = await remoter.list({ pool });
      expect(listed.map((r) => [r.id, r.state])).toEqual([
        [first.id, 'running'],
        [second.id, 'terminated'],
        [listed[2]?.id, 'running'],
      ]);
      await expect(readFile(join(dir, 'host2', 'etc', 'poolparty', 'agent.json'))).rejects.toThrow(/ENOENT/);
      expect(await remoter.reconcile({ pool, cloud: 'web' })).toEqual({ adopted: [], cleared: [], strays: [] });
    },
    SLOW,
  );

  it(
    'terminate deprovisions: no agent process left, files removed, hosts free again',
    async () => {
      const ids = (await remoter.list({ pool })).map((r) => r.id);
      await remoter.terminate(ids);
      for (let i = 0; i < 3; i++) expect(agentPids(i)).toEqual([]);
      expect(pidsMatching(join(dir, 'host'))).toEqual([]);
      const list = await remoter.list({ pool });
      expect(list.map((r) => [r.state, r.agent])).toEqual([
        ['terminated', 'unknown'],
        ['terminated', 'unknown'],
        ['terminated', 'unknown'],
      ]);
      for (let i = 0; i < 3; i++) {
        await expect(readFile(join(dir, `host${i + 1}`, 'etc', 'poolparty', 'agent.json'))).rejects.toThrow(/ENOENT/);
      }
      await expect(remoter.terminate(['nope'])).rejects.toThrow(/unknown instance: nope/);
      // freed hosts can be launched again (one, here), and terminated again
      const [rec] = await remoter.launch({ cloud: 'web', count: 1, clientToken: 'boot-2' });
      expect(rec?.state).toBe('running');
      await expectOneAgent(0);
      await remoter.terminate([rec?.id as string]);
      expect(agentPids(0)).toEqual([]);
    },
    SLOW,
  );
});
