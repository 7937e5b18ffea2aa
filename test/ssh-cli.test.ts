import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_NODE_FLAGS } from '../shared/agent-node-flags.ts';
import type { SshInstanceRecord } from '../shared/remoter/ssh.ts';
import { killMatching, pidsMatching, randomLoopbackBase, rootPidsMatching } from './fixtures/procs.ts';
import { runCli, statusUntilAlive } from './fixtures/run-cli.ts';
import { canRunSshd, generateKey, Sshd } from './fixtures/sshd.ts';
import { waitFor } from './fixtures/wait.ts';
import { missingLaunchEnv } from './helpers/agent-process.ts';

const run = promisify(execFile);
const CLI = resolve('bin/poolparty.mjs');
const root = await canRunSshd();
const hasSshClient = existsSync('/usr/bin/ssh');
/** Provisioning three real hosts on a loaded machine takes tens of seconds; bounded all the same. */
const SLOW = 180_000;

/**
 * The built CLI against three real OpenSSH servers on 127.a.b.2-4 (one file system, so every host
 * installs under its own prefix): bootstrap an ssh cloud, status, list, re-bootstrap, ssh,
 * terminate; then a changed host key refused and accepted with --accept-new-host-key.
 */
/** Every regular file below `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe.skipIf(!root)('poolparty CLI on an ssh cloud (real sshd, real agents)', () => {
  let dir: string;
  let stateDir: string;
  let config: string;
  let keyFile: string;
  let env: NodeJS.ProcessEnv;
  const sshds: Sshd[] = [];
  const prefixes: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-sshcli-'));
    stateDir = join(dir, 'state');
    const artifactDir = join(dir, 'artifact');
    await run(process.execPath, ['scripts/build-artifact.mjs', '--outdir', artifactDir]);
    const userKey = await generateKey(dir, 'user_key');
    keyFile = userKey.keyFile;
    const base = randomLoopbackBase().replace(/\.2$/, '');
    for (const n of [2, 3, 4]) sshds.push(await Sshd.start(`${base}.${n}`, [userKey.publicKey]));
    const hosts = [];
    for (const [i, s] of sshds.entries()) {
      const prefix = join(dir, `host${i + 1}`);
      await mkdir(prefix);
      prefixes.push(prefix);
      hosts.push({ host: s.host, port: s.port, prefix });
    }
    config = join(dir, 'clouds.ts');
    await writeFile(
      config,
      `import { definePool, file, ssh } from 'poolparty';
export default definePool({
  name: 'sshcli',
  clouds: {
    web: {
      instances: { min: 3, max: 3 },
      using: ssh({ hosts: ${JSON.stringify(hosts)}, user: 'root', keyFile: ${JSON.stringify(keyFile)}, init: 'none', waitTimeout: '10s' }),
      agent: { heartbeatInterval: '250ms' },
      // Bootstrap uploads the compiled bundle with the agent; each node applies it at first boot.
      resources: [file(${JSON.stringify(join(dir, 'motd'))}, { content: 'provisioned\\n' })],
      resolver: ['itamae'],
    },
  },
});
`,
    );
    env = { ...process.env, POOLPARTY_ARTIFACT_DIR: artifactDir };
  }, 120_000);

  afterAll(async () => {
    if (!dir) return;
    await killMatching(dir); // agents run from <dir>/hostN/opt/poolparty: the safety net
    for (const s of sshds) await s.stop();
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  // --state-dir before the arguments: anything after `--` belongs to the remote command.
  const cli = (cmd: string, ...args: string[]) =>
    runCli([CLI, cmd, '--state-dir', stateDir, ...args], env, SLOW - 10_000);
  /** Agent processes installed under host i's prefix (a forked metric child shows the same line). */
  const agentPids = (i: number) => rootPidsMatching(`${prefixes[i]}/opt/poolparty/poolparty-agent.mjs`);
  const anyAgent = () => prefixes.flatMap((p) => pidsMatching(p));
  const list = async () => {
    const r = await cli('list', '-c', config, '--json');
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as SshInstanceRecord[]).sort((a, b) => a.id.localeCompare(b.id));
  };

  it('bootstraps three hosts, shows them, re-bootstraps idempotently, opens ssh and terminates', {
    timeout: SLOW * 2,
  }, async () => {
    const boot = await cli('bootstrap', '-c', config, '--timeout', '60s', '--json');
    expect(boot.code, boot.stderr).toBe(0);
    expect(JSON.parse(boot.stdout).instances).toHaveLength(3);
    // Trust on first use is announced, with the fingerprint the user can compare.
    for (const s of sshds) {
      expect(boot.stderr).toContain(
        `${s.host}: new host key ${await s.fingerprint()} recorded in ${join(stateDir, 'known_hosts')}`,
      );
      expect(boot.stderr).toContain(`${s.host}: authenticated as root`);
    }
    const ids = sshds.map((s) => `${s.host}:${s.port}`).sort();

    const { alive, states } = await statusUntilAlive(() => cli('status', '-c', config, '--json'), 3);
    expect(alive, states).toEqual(ids);

    const first = await list();
    expect(first.map((i) => [i.id, i.state, i.agent])).toEqual(ids.map((id) => [id, 'running', 'healthy']));
    const compiled = await cli('compile', '-c', config, '-o', join(dir, 'out'), '--json');
    expect(compiled.code, compiled.stderr).toBe(0);
    const sha = (JSON.parse(compiled.stdout) as { sha256: string }).sha256;
    expect(boot.stderr).toContain(`compiled bundle ${sha.slice(0, 12)} for cloud web`);
    for (const i of first) {
      await waitFor(
        `${i.id} applied the bundle`,
        async () => {
          const v = (await (await fetch(`${i.monitor}/bundle`, { signal: AbortSignal.timeout(2000) })).json()) as {
            applied: string | null;
          };
          return v.applied === sha;
        },
        { timeoutMs: 60_000, everyMs: 250 },
      );
    }
    expect(readFileSync(join(dir, 'motd'), 'utf8')).toBe('provisioned\n');
    // Nothing the laptop holds is left on a node but the pool key: not its SSH key, not its
    // known_hosts, no AWS variables; the only secrets are the pool key and the agent's identity.
    const laptopKey = readFileSync(keyFile, 'utf8').trim();
    for (const prefix of prefixes) {
      const files = filesUnder(prefix);
      // What is on a host (docs/ssh.md; init 'none', so no unit): besides bundles, exactly these.
      expect(
        files
          .filter((f) => !f.includes('/var/lib/poolparty/bundles/'))
          .map((f) => f.slice(prefix.length))
          .sort(),
      ).toEqual([
        '/etc/poolparty/agent.env',
        '/etc/poolparty/agent.json',
        '/etc/poolparty/pool.key',
        '/opt/poolparty/poolparty-agent.json',
        '/opt/poolparty/poolparty-agent.mjs',
        '/var/lib/poolparty.lock',
        '/var/lib/poolparty/agent.pid',
        '/var/lib/poolparty/peer-key',
        '/var/log/poolparty/agent.log',
      ]);
      for (const f of files) {
        const text = readFileSync(f, 'latin1');
        expect(text.includes(laptopKey), f).toBe(false);
        // The agent artifact is code (ssh2 and the AWS SDK name these); everything else is data.
        if (!f.endsWith('.mjs')) expect(text, f).not.toMatch(/PRIVATE KEY|AWS_SECRET|aws_secret_access_key/);
      }
      expect(files.some((f) => f.endsWith('known_hosts'))).toBe(false);
    }
    const peers = first.map((i) => i.peerId);
    expect(new Set(peers).size).toBe(3);
    for (const i of [0, 1, 2]) expect(agentPids(i)).toHaveLength(1);
    // The detached start (init 'none') passes node the agent's flags and environment, as the unit does.
    const argv = readFileSync(`/proc/${agentPids(0)[0]}/cmdline`, 'utf8').split('\0');
    expect(argv.slice(1, 1 + AGENT_NODE_FLAGS.length)).toEqual([...AGENT_NODE_FLAGS]);
    expect(missingLaunchEnv(agentPids(0)[0] as number)).toEqual([]);

    const again = await cli('bootstrap', '-c', config, '--timeout', '60s', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).launched).toEqual([]);
    expect((await list()).map((i) => i.peerId)).toEqual(peers);
    for (const i of [0, 1, 2]) expect(agentPids(i)).toHaveLength(1);

    const second = sshds[1] as Sshd;
    const dry = await cli('ssh', '-c', config, `${second.host}:${second.port}`, '--json');
    expect(dry.code, dry.stderr).toBe(0);
    const line = JSON.parse(dry.stdout) as { instance: string; argv: string[]; command: string };
    expect(line.instance).toBe(`${second.host}:${second.port}`);
    expect(line.argv).toEqual([
      'ssh',
      '-i',
      keyFile,
      '-p',
      String(second.port),
      '-o',
      `UserKnownHostsFile=${join(stateDir, 'known_hosts')}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'IdentitiesOnly=yes',
      `root@${second.host}`,
    ]);
    const firstHost = await cli('ssh', '-c', config, '--json');
    expect(JSON.parse(firstHost.stdout).instance).toBe(`${sshds[0]?.host}:${sshds[0]?.port}`);
    const unknown = await cli('ssh', '-c', config, '127.0.0.99', '--json');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no running instance '127\.0\.0\.99'/);

    if (hasSshClient) {
      // The real ssh client accepts the known_hosts bootstrap wrote, runs the command, passes its code on.
      const hello = await cli('ssh', '-c', config, `${second.host}:${second.port}`, '--', 'echo', 'hello-from-node');
      expect(hello.code, hello.stderr).toBe(0);
      expect(hello.stdout.trim()).toBe('hello-from-node');
      const failing = await cli('ssh', '-c', config, '--', 'exit', '3');
      expect(failing.code).toBe(3);
    }

    const term = await cli('terminate', '-c', config, '--yes', '--json');
    expect(term.code, term.stderr).toBe(0);
    expect(JSON.parse(term.stdout).terminated.sort()).toEqual(ids);
    expect(anyAgent()).toEqual([]);
    expect((await list()).length).toBe(0);
  });

  it('refuses a changed host key in one line; --accept-new-host-key takes the new one', {
    timeout: SLOW * 2,
  }, async () => {
    const replaced = sshds[0] as Sshd;
    const before = await replaced.fingerprint();
    await replaced.newHostKey();
    await replaced.restart();
    const after = await replaced.fingerprint();

    const refused = await cli('bootstrap', '-c', config, '--timeout', '60s');
    expect(refused.code, refused.stderr).toBe(1);
    const errors = refused.stderr.split('\n').filter((l) => l.startsWith('poolparty:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(
      `[${replaced.host}]:${replaced.port}: host key changed: expected ${before}, got ${after}`,
    );
    expect(errors[0]).toContain('--accept-new-host-key');
    expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(agentPids(0)).toEqual([]); // nothing was installed on the refused host

    const accepted = await cli('bootstrap', '-c', config, '--timeout', '60s', '--accept-new-host-key', '--json');
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stderr).toContain(`host key replaced (--accept-new-host-key): was ${before}, now ${after}`);
    expect((await list()).filter((i) => i.state === 'running')).toHaveLength(3);
    for (const i of [0, 1, 2]) expect(agentPids(i)).toHaveLength(1);

    const term = await cli('terminate', '-c', config, '--yes');
    expect(term.code, term.stderr).toBe(0);
    expect(anyAgent()).toEqual([]);
  });
});
