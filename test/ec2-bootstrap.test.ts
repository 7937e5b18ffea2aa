import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigureResult } from '../cli/commands/configure.ts';
import type { Ec2Provisioned } from '../cli/ec2-provision.ts';
import { aliasHostKeys, ec2SshAddress, ec2SshTarget } from '../cli/ec2-ssh.ts';
import { parseEc2Using } from '../shared/config/ec2-schema.ts';
import type { HostKeyVerifier } from '../shared/provision/known-hosts.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import type { ClusterView, HealthView } from '../shared/wire/cluster.ts';
import { type FakeEc2Server, startEc2Server } from './ec2-server/server.ts';
import { cliEnv, fakeAwsEnv } from './fixtures/cli-env.ts';
import { killMatching, pidsMatching, randomLoopbackBase, rootPidsMatching } from './fixtures/procs.ts';
import { runCli } from './fixtures/run-cli.ts';
import { canRunSshd, freePort, generateKey, Sshd } from './fixtures/sshd.ts';

const run = promisify(execFile);
const CLI = resolve('bin/poolparty.mjs');
const root = await canRunSshd();
const hasSshClient = existsSync('/usr/bin/ssh');
/** Provisioning over SSH on a loaded machine takes seconds to tens of seconds; bounded all the same. */
const SLOW = 120_000;

interface BootstrapJson {
  launched: InstanceRecord[];
  provisioned?: Ec2Provisioned[];
  instances: InstanceRecord[];
  monitors: string[];
  cluster: ClusterView | null;
}

describe('the ssh section of ec2 options', () => {
  const base = { provider: 'ec2', imageId: 'ami-0123456789abcdef0', instanceType: 't3.small' } as const;
  const rec = (addrs: { privateIp?: string; publicIp?: string }): InstanceRecord => ({
    id: 'i-0123456789abcdef0',
    state: 'running',
    launchedAt: 0,
    tags: {},
    ...addrs,
  });

  it('applies documented defaults, and is absent unless given', () => {
    expect(parseEc2Using(base).ssh).toBeUndefined();
    expect(parseEc2Using({ ...base, ssh: {} }).ssh).toEqual({
      user: 'ec2-user',
      keyFile: '~/.ssh/id_ed25519',
      port: 22,
      address: 'public',
      prefix: '',
      init: 'auto',
      waitTimeout: 180_000,
    });
    expect(parseEc2Using({ ...base, ssh: { prefix: '/srv/pp/', waitTimeout: '90s' } }).ssh).toMatchObject({
      prefix: '/srv/pp',
      waitTimeout: 90_000,
    });
  });

  it('rejects bad fields naming them', () => {
    const error = (ssh: unknown) => {
      try {
        parseEc2Using({ ...base, ssh });
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(error({ address: 'elastic' })).toMatch(/^using\.ssh\.address: /);
    expect(error({ prefix: 'relative/dir' })).toMatch(/^using\.ssh\.prefix: prefix must be an absolute path/);
    expect(error({ waitTimeout: '10ms' })).toMatch(/^using\.ssh\.waitTimeout: must be at least 1s/);
    expect(error({ user: 'bad user' })).toMatch(/^using\.ssh\.user: invalid user name/);
    expect(error({ keyfile: 'x' })).toMatch(/^using\.ssh: /);
    expect(error({ keyFile: '/keys/AKIAIOSFODNN7EXAMPLE' })).toMatch(/must not contain AWS credentials/);
  });

  it('connects to the public address, else the private one, and trusts the key under the instance id', async () => {
    const pub = { address: 'public' } as const;
    expect(ec2SshAddress(pub, rec({ privateIp: '10.0.0.5', publicIp: '203.0.113.9' }))).toEqual({
      host: '203.0.113.9',
      address: 'public',
    });
    expect(ec2SshAddress(pub, rec({ privateIp: '10.0.0.5' }))).toEqual({ host: '10.0.0.5', address: 'private' });
    expect(ec2SshAddress({ address: 'private' }, rec({ privateIp: '10.0.0.5', publicIp: '203.0.113.9' }))?.host).toBe(
      '10.0.0.5',
    );
    expect(ec2SshAddress(pub, rec({}))).toBeUndefined();

    const using = parseEc2Using({ ...base, ssh: { keyFile: '/keys/ops.pem', port: 2222 } });
    expect(ec2SshTarget(using, rec({ privateIp: '10.0.0.5' }))).toMatchObject({
      host: '10.0.0.5',
      port: 2222,
      user: 'ec2-user',
      keyFile: '/keys/ops.pem',
      hostKeyAlias: 'i-0123456789abcdef0',
    });
    expect(() => ec2SshTarget(using, { ...rec({}), state: 'pending' })).toThrow(
      'i-0123456789abcdef0 has no public or private address yet (state pending)',
    );
    expect(() => ec2SshTarget(parseEc2Using(base), rec({ privateIp: '10.0.0.5' }))).toThrow(/no ssh section/);

    const asked: [string, number][] = [];
    const inner: HostKeyVerifier = {
      file: 'kh',
      check: async (host, port) => {
        asked.push([host, port]);
        return { status: 'known', fingerprint: 'SHA256:x', keyType: 'ssh-ed25519' };
      },
    };
    await aliasHostKeys(inner, 'i-0123456789abcdef0').check('10.0.0.5', 2222, Buffer.alloc(0));
    expect(asked).toEqual([['i-0123456789abcdef0', 22]]);
  });
});

/**
 * `poolparty bootstrap` on an ec2 cloud with an `ssh` section, end to end: the real CLI and AWS
 * SDK against the wire-level EC2, whose "instance" gets a loopback address this test owns and a
 * real sshd on it; the agent is provisioned over SSH under a prefix (init 'none') and answers on
 * the instance's address. The agent inherits the SSH session's environment (sshd SetEnv), which
 * points its leader's EC2 calls at the fake EC2 and away from the instance metadata service.
 */
describe.skipIf(!root)('poolparty bootstrap on an ec2 cloud over SSH (wire-level EC2, real sshd, real agent)', () => {
  let server: FakeEc2Server;
  let sshd: Sshd;
  let dir: string;
  let stateDir: string;
  let prefix: string;
  let config: string;
  let downConfig: string;
  let keyFile: string;
  let env: NodeJS.ProcessEnv;
  let ip: string;
  let downIp: string;
  let downPort: number;
  /** The private address of the next instance the fake EC2 creates. */
  const addresses: string[] = [];
  let spare: string;
  let instanceId = '';
  let peerId = '';

  const agentPids = () => rootPidsMatching(`${prefix}/opt/poolparty/poolparty-agent.mjs`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-ec2ssh-'));
    stateDir = join(dir, 'state');
    prefix = join(dir, 'node');
    await mkdir(prefix);
    const artifactDir = join(dir, 'artifact');
    await run(process.execPath, ['scripts/build-artifact.mjs', '--outdir', artifactDir]);
    const userKey = await generateKey(dir, 'user_key');
    keyFile = userKey.keyFile;
    const base = randomLoopbackBase().replace(/\.2$/, '');
    ip = `${base}.2`;
    downIp = `${base}.3`;
    spare = `${base}.250`;
    downPort = await freePort(downIp);

    server = await startEc2Server({
      pendingMs: 1000,
      addressesFor: () => ({ privateIp: addresses.shift() ?? spare }),
      // EC2 would stop the machine and everything on it: here that is the agent under the prefix.
      onTerminate: (inst) => {
        if (inst.privateIp !== ip) return;
        for (const pid of pidsMatching(prefix)) process.kill(pid, 'SIGKILL');
      },
    });
    const aws = fakeAwsEnv({ endpoint: server.endpoint });
    sshd = await Sshd.start(ip, [userKey.publicKey]);
    await appendFile(
      sshd.config,
      `SetEnv ${Object.entries(aws)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}\n`,
    );
    await sshd.restart();

    const cloud = (
      name: string,
      addr: string,
      port: number,
      waitTimeout: string,
    ) => `import { definePool, ec2 } from 'poolparty';
export default definePool({
  name: '${name}',
  clouds: {
    app: {
      instances: { min: 1, max: 1 },
      using: ec2({
        imageId: 'ami-0123456789abcdef0',
        instanceType: 't3.small',
        keyName: 'ops',
        ssh: { user: 'root', keyFile: ${JSON.stringify(keyFile)}, port: ${port}, prefix: ${JSON.stringify(prefix)}, init: 'none', waitTimeout: '${waitTimeout}' },
      }),
      agent: { heartbeatInterval: '250ms' },
      monitor: { host: '${addr}' },
    },
  },
});
`;
    config = join(dir, 'clouds.ts');
    await writeFile(config, cloud('ec2ssh', ip, sshd.port, '60s'));
    downConfig = join(dir, 'down.ts');
    await writeFile(downConfig, cloud('ec2ssh-down', downIp, downPort, '3s'));
    env = cliEnv(dir, { POOLPARTY_ARTIFACT_DIR: artifactDir, ...aws }, stateDir);
  }, 120_000);

  afterAll(async () => {
    if (!dir) return;
    await killMatching(prefix); // the safety net: agents run from <prefix>/opt/poolparty
    await sshd?.stop();
    await server?.close();
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  const cli = (...args: string[]) => runCli([CLI, ...args], env, SLOW - 10_000);
  const bootstrap = async (...extra: string[]) => {
    const res = await cli('bootstrap', '-c', config, '--timeout', '60s', '--json', ...extra);
    return { res, out: res.code === 0 ? (JSON.parse(res.stdout) as BootstrapJson) : undefined };
  };

  it('launches an instance, waits for it and its SSH, provisions the agent on its address', {
    timeout: SLOW,
  }, async () => {
    addresses.push(ip);
    // As if user data had booted an agent first: its identity is where the provisioner keeps it too.
    const key = await generateKeyPair('Ed25519');
    const userDataPeer = peerIdFromPrivateKey(key).toString();
    await mkdir(join(prefix, 'var/lib/poolparty'), { recursive: true, mode: 0o700 });
    await writeFile(join(prefix, 'var/lib/poolparty/peer-key'), privateKeyToProtobuf(key), { mode: 0o600 });

    const { res, out } = await bootstrap();
    expect(res.code, res.stderr).toBe(0);
    expect(out?.launched).toHaveLength(1);
    instanceId = out?.launched[0]?.id ?? '';
    expect(instanceId).toMatch(/^i-/);
    expect(out?.instances.map((i) => [i.id, i.privateIp])).toEqual([[instanceId, ip]]);
    expect(out?.monitors).toEqual([`http://${ip}:8642`]);
    expect(out?.provisioned).toMatchObject([
      { instanceId, host: ip, address: 'private', init: 'none', artifactUploaded: true },
    ]);
    expect(out?.provisioned?.[0]?.hostKey.status).toBe('added');
    expect(out?.cluster?.members.map((m) => [m.instanceId, m.state])).toEqual([[instanceId, 'alive']]);

    // Waited for the instance to run, then for SSH; the host key is trusted under the instance id.
    expect(res.stderr).toContain(`${instanceId}: pending, waiting for it to run with an address`);
    expect(res.stderr).toContain(`${instanceId}: running, SSH to root@${ip}:${sshd.port} (private address)`);
    const knownHosts = join(stateDir, 'known_hosts');
    expect(res.stderr).toContain(`${instanceId}: new host key ${await sshd.fingerprint()} recorded in ${knownHosts}`);
    expect(readFileSync(knownHosts, 'utf8')).toMatch(new RegExp(`^${instanceId} ssh-ed25519 `, 'm'));
    expect(res.stderr).toContain('provisioning 1 new instance over SSH');
    // This cloud names no identityCertificate: its members are unchecked, and bootstrap says so.
    expect(res.stderr).toContain('cloud app: members are not checked against their instances (no identityCertificate)');
    // User data went out as well (an image with the agent baked in would start it at boot).
    expect(server.callsOf('RunInstances').filter((c) => !c.error)).toHaveLength(1);

    const health = (await (await fetch(`http://${ip}:8642/health`)).json()) as HealthView;
    expect(health.status).toBe('ok');
    peerId = health.peerId;
    // Kept: a new peer id would leave the old one gossiped as `left` under the same instance id.
    expect(peerId).toBe(userDataPeer);
    expect(out?.provisioned?.[0]?.peerId).toBe(peerId);
    expect(agentPids()).toHaveLength(1);
    // The config user data would have written: the instance id, its private address.
    const agentConfig = JSON.parse(readFileSync(join(prefix, 'etc/poolparty/agent.json'), 'utf8')) as AgentConfig;
    expect(agentConfig).toMatchObject({
      pool: 'ec2ssh',
      cloud: 'app',
      instanceId,
      listen: [`/ip4/${ip}/tcp/8643`],
      bootstrap: [],
      monitor: { host: ip, port: 8642, url: `http://${ip}:8642` },
      dataDir: join(prefix, 'var/lib/poolparty'),
    });
    expect(agentConfig.scaling?.min).toBe(1);
  });

  it('a second bootstrap launches nothing and upgrades the agent in place: one agent, same identity', {
    timeout: SLOW,
  }, async () => {
    const runs = server.callsOf('RunInstances').length;
    const { res, out } = await bootstrap();
    expect(res.code, res.stderr).toBe(0);
    expect(out?.launched).toEqual([]);
    expect(server.callsOf('RunInstances').length).toBe(runs);
    expect(res.stderr).toContain('upgrading 1 running instance in place over SSH, one at a time');
    expect(out?.provisioned).toMatchObject([{ instanceId, peerId, artifactUploaded: false }]);
    expect(out?.provisioned?.[0]?.hostKey.status).toBe('known');
    expect(agentPids()).toHaveLength(1);
    const health = (await (await fetch(`http://${ip}:8642/health`)).json()) as HealthView;
    expect(health.peerId).toBe(peerId);
  });

  it('poolparty ssh opens the instance with its key, checking the host key under the instance id', {
    timeout: SLOW,
  }, async () => {
    const dry = await cli('ssh', '-c', config, '--json');
    expect(dry.code, dry.stderr).toBe(0);
    const line = JSON.parse(dry.stdout) as { instance: string; host: string; argv: string[] };
    expect(line.instance).toBe(instanceId);
    expect(line.argv).toEqual([
      'ssh',
      '-i',
      keyFile,
      '-p',
      String(sshd.port),
      '-o',
      `UserKnownHostsFile=${join(stateDir, 'known_hosts')}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      `HostKeyAlias=${instanceId}`,
      `root@${ip}`,
    ]);
    if (hasSshClient) {
      // The real client accepts the entry bootstrap recorded under the alias.
      const hello = await cli('ssh', '-c', config, instanceId, '--', 'echo', 'hello-from-instance');
      expect(hello.code, hello.stderr).toBe(0);
      expect(hello.stdout.trim()).toBe('hello-from-instance');
    }
  });

  it('refuses a changed host key in one line and touches nothing; --accept-new-host-key takes it', {
    timeout: SLOW * 2,
  }, async () => {
    const before = await sshd.fingerprint();
    const pids = agentPids();
    await sshd.newHostKey();
    await sshd.restart();
    const after = await sshd.fingerprint();

    const { res } = await bootstrap();
    expect(res.code, res.stderr).toBe(1);
    const errors = res.stderr.split('\n').filter((l) => l.startsWith('poolparty:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`${instanceId}: host key changed: expected ${before}, got ${after}`);
    expect(errors[0]).toContain('--accept-new-host-key');
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(agentPids()).toEqual(pids);

    const { res: accepted, out } = await bootstrap('--accept-new-host-key');
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stderr).toContain(
      `${instanceId}: host key replaced (--accept-new-host-key): was ${before}, now ${after}`,
    );
    expect(out?.provisioned).toMatchObject([{ instanceId, peerId }]);
    expect(agentPids()).toHaveLength(1);
  });

  it('an instance whose SSH never answers fails within ssh.waitTimeout, in one line', { timeout: SLOW }, async () => {
    addresses.push(downIp);
    const res = await cli('bootstrap', '-c', downConfig, '--json');
    expect(res.code).toBe(1);
    const errors = res.stderr.split('\n').filter((l) => l.startsWith('poolparty:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      new RegExp(
        `could not provision 1 of 1 instance of cloud app over SSH: i-[0-9a-f]+: cannot reach ${downIp.replaceAll('.', '\\.')}:${downPort} over SSH within the cloud's ssh\\.waitTimeout \\(3\\.0s, counted from the launch\\): connect ECONNREFUSED`,
      ),
    );
    expect(errors[0]).toContain('EC2 keeps them running');
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(JSON.parse(res.stdout).error.name).toBe('Ec2ProvisionError');

    const term = await cli('terminate', '-c', downConfig, '--yes');
    expect(term.code, term.stderr).toBe(0);
  });

  it("configure --via-ssh rolls a bundle out through the instance's SSH when nothing else reaches it", {
    timeout: SLOW,
  }, async () => {
    const out = join(dir, 'configured-via-ssh');
    const cfg = join(dir, 'configure.ts');
    await writeFile(
      cfg,
      readFileSync(config, 'utf8')
        .replace('import { definePool, ec2 }', 'import { definePool, ec2, file }')
        .replace(
          "agent: { heartbeatInterval: '250ms' },",
          `agent: { heartbeatInterval: '250ms' },\n      resources: [file(${JSON.stringify(out)}, { content: 'via ec2 ssh\\n' })],\n      resolver: ['itamae'],`,
        ),
    );
    // The instance answers this CLI on its SSH port only (its monitor and libp2p port refuse).
    const fenced = {
      ...env,
      NODE_OPTIONS: `--import=${pathToFileURL(resolve('test/fixtures/ssh-only.mjs')).href}`,
      POOLPARTY_TEST_SSH_ONLY: `${ip}:${sshd.port}`,
    };
    const r = await runCli(
      [CLI, 'configure', '-c', cfg, '--via-ssh', '--timeout', '120s', '--json'],
      fenced,
      SLOW - 10_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as ConfigureResult;
    expect(result.nodes).toEqual([{ instanceId, applied: result.sha256, state: 'ok', error: null }]);
    expect(r.stderr).toContain(`(SSH tunnel via root@${ip}:${sshd.port})`);
    expect(r.stderr).toMatch(new RegExp(`tunnel 127\\.0\\.0\\.1:\\d+ → ${ip.replaceAll('.', '\\.')}:8642 `));
    expect(readFileSync(out, 'utf8')).toBe('via ec2 ssh\n');
  });

  it('terminate ends the instance through EC2 and forgets its host key (EC2 never reuses the id)', {
    timeout: SLOW,
  }, async () => {
    const knownHosts = join(stateDir, 'known_hosts');
    await appendFile(knownHosts, 'other.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherHostKeyStaysPut\n');
    expect(readFileSync(knownHosts, 'utf8')).toMatch(new RegExp(`^${instanceId} `, 'm'));
    const res = await cli('terminate', '-c', config, '--yes', '--json');
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).terminated).toEqual([instanceId]);
    const inst = server.model.instances.get(instanceId);
    expect(inst && server.model.stateOf(inst)).not.toBe('running');
    expect(agentPids()).toEqual([]);
    const left = readFileSync(knownHosts, 'utf8');
    expect(left).not.toContain(instanceId);
    expect(left).toContain('other.example ssh-ed25519 ');
  });
});
