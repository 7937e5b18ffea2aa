import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigureResult } from '../cli/commands/configure.ts';
import type { BundleView, LeaderInfo } from '../cli/monitor-client.ts';
import type { SshInstanceRecord } from '../shared/remoter/ssh.ts';
import { killMatching, randomLoopbackBase } from './fixtures/procs.ts';
import { runCli } from './fixtures/run-cli.ts';
import { canRunSshd, generateKey, Sshd } from './fixtures/sshd.ts';
import { waitFor } from './fixtures/wait.ts';

const run = promisify(execFile);
const CLI = resolve('bin/poolparty.mjs');
const SSH_ONLY = pathToFileURL(resolve('test/fixtures/ssh-only.mjs')).href;
const root = await canRunSshd();
/** Provisioning three real hosts and three itamae runs on a loaded machine: generous, and bounded. */
const SLOW = 240_000;

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/**
 * `poolparty configure --via-ssh` against three real OpenSSH servers on 127.a.b.2-4, each with an
 * agent installed under its own prefix. The CLI runs with a preload that lets it reach those
 * addresses on their SSH port only (test/fixtures/ssh-only.mjs): the plain configure fails to find
 * the pool under it, the tunnelled one rolls the new bundle out to every node.
 */
describe.skipIf(!root)('poolparty configure --via-ssh (real sshd, real agents, itamae)', () => {
  let dir: string;
  let stateDir: string;
  let config: string;
  let env: NodeJS.ProcessEnv;
  /** The CLI's environment where the hosts answer on their SSH port only. */
  let sshOnly: NodeJS.ProcessEnv;
  const sshds: Sshd[] = [];

  /** The pool definition; `extra` adds a second managed file (the change to roll out). */
  const define = (extra: boolean) => {
    const hosts = sshds.map((s, i) => ({ host: s.host, port: s.port, prefix: join(dir, `host${i + 1}`) }));
    const files = [`file(${JSON.stringify(join(dir, 'motd'))}, { content: 'provisioned\\n' })`];
    if (extra) files.push(`file(${JSON.stringify(join(dir, 'via-ssh'))}, { content: 'through the tunnel\\n' })`);
    return writeFile(
      config,
      `import { definePool, file, ssh } from 'poolparty';
export default definePool({
  name: 'cfgssh',
  clouds: {
    web: {
      instances: { min: 3, max: 3 },
      using: ssh({ hosts: ${JSON.stringify(hosts)}, user: 'root', keyFile: ${JSON.stringify(join(dir, 'user_key'))}, init: 'none', waitTimeout: '10s' }),
      agent: { heartbeatInterval: '250ms' },
      resources: [${files.join(', ')}],
      resolver: ['itamae'],
    },
  },
});
`,
    );
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-cfgssh-'));
    stateDir = join(dir, 'state');
    config = join(dir, 'clouds.ts');
    const artifactDir = join(dir, 'artifact');
    await run(process.execPath, ['scripts/build-artifact.mjs', '--outdir', artifactDir]);
    const userKey = await generateKey(dir, 'user_key');
    const base = randomLoopbackBase().replace(/\.2$/, '');
    for (const n of [2, 3, 4]) {
      sshds.push(await Sshd.start(`${base}.${n}`, [userKey.publicKey]));
      await mkdir(join(dir, `host${n - 1}`));
    }
    await define(false);
    const { POOLPARTY_AGENT_BIN: _ignored, ...rest } = process.env;
    env = { ...rest, POOLPARTY_ARTIFACT_DIR: artifactDir };
    sshOnly = {
      ...env,
      NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --import=${SSH_ONLY}`.trim(),
      POOLPARTY_TEST_SSH_ONLY: sshds.map((s) => `${s.host}:${s.port}`).join(','),
    };
    const boot = await runCli(
      [CLI, 'bootstrap', '-c', config, '--state-dir', stateDir, '--timeout', '60s'],
      env,
      SLOW - 10_000,
    );
    if (boot.code !== 0) throw new Error(`bootstrap failed: ${boot.stderr}`);
  }, SLOW);

  afterAll(async () => {
    if (!dir) return;
    await runCli([CLI, 'terminate', '-c', config, '--state-dir', stateDir, '--yes'], env, 60_000).catch(
      () => undefined,
    );
    await killMatching(dir); // agents run from <dir>/hostN/opt/poolparty: the safety net
    for (const s of sshds) await s.stop();
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
    // terminate sweeps until the hosts list nothing (up to 60 s), and its own bound is 60 s.
  }, 150_000);

  const cli = (e: NodeJS.ProcessEnv, ...args: string[]) =>
    runCli([CLI, ...args, '--state-dir', stateDir], e, SLOW - 10_000);

  it('rolls a new bundle out through a tunnel from one node while the agents are unreachable directly', {
    timeout: SLOW,
  }, async () => {
    const listed = await cli(env, 'list', '-c', config, '--json');
    expect(listed.code, listed.stderr).toBe(0);
    const instances = JSON.parse(listed.stdout) as SshInstanceRecord[];
    expect(instances.map((i) => i.state)).toEqual(['running', 'running', 'running']);
    // The test itself is not fenced: it reads the monitors directly.
    let leader: LeaderInfo | null = null;
    await waitFor(
      'a leader and the first bundle everywhere',
      async () => {
        leader = await getJson<LeaderInfo | null>(`${instances[0]?.monitor}/leader`);
        const views = await Promise.all(instances.map((i) => getJson<BundleView>(`${i.monitor}/bundle`)));
        return leader !== null && views.every((v) => v.applied !== null && v.state === 'ok');
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    const leaderPeer = (leader as LeaderInfo | null)?.peerId;
    const leaderRec = instances.find((i) => i.peerId === leaderPeer) as SshInstanceRecord;
    const entry = instances.find((i) => i.peerId !== leaderPeer) as SshInstanceRecord;
    expect(leaderRec).toBeDefined();

    await define(true);
    // The fence holds: without the tunnel the CLI cannot find the pool at all.
    const direct = await cli(sshOnly, 'configure', '-c', config, '--timeout', '3s', '--json');
    expect(direct.code, direct.stderr).toBe(1);
    expect(JSON.parse(direct.stdout).error.message).toMatch(/cannot find the pool's leader: .*ECONNREFUSED/);

    const r = await cli(sshOnly, 'configure', '-c', config, '--via-ssh', entry.id, '--timeout', '180s', '--json');
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as ConfigureResult;
    expect(Object.keys(result).sort()).toEqual(['leader', 'nodes', 'path', 'sha256']);
    expect(result.leader.peerId).toBe(leaderPeer);
    expect(result.nodes.map((n) => n.instanceId).sort()).toEqual(instances.map((i) => i.id).sort());
    for (const n of result.nodes)
      expect(n).toEqual({ instanceId: n.instanceId, applied: result.sha256, state: 'ok', error: null });

    // The path taken: SSH to the entry node, a tunnel from it to the leader's libp2p port, and the
    // push to that tunnel's loopback end.
    expect(r.stderr).toContain(`${entry.host}: authenticated as root`);
    const via = `root@${entry.host}:${entry.port}`;
    const tunnel = new RegExp(
      `tunnel 127\\.0\\.0\\.1:(\\d+) → ${leaderRec.host.replaceAll('.', '\\.')}:8643 \\(via ${via}\\)`,
    );
    const localPort = tunnel.exec(r.stderr)?.[1];
    expect(localPort, r.stderr).toBeDefined();
    expect(r.stderr).toContain(`pushing to the leader ${leaderRec.id} (${leaderPeer})`);
    expect(r.stderr).toContain(
      `bundle handed to the leader at /ip4/127.0.0.1/tcp/${localPort}/p2p/${leaderPeer} (SSH tunnel via ${via})`,
    );
    expect(r.stderr).toMatch(new RegExp(`${entry.id.replaceAll('.', '\\.')}: ok \\(${result.sha256.slice(0, 12)}\\)`));
    expect(r.stderr).toContain(`3/3 nodes applied ${result.sha256.slice(0, 12)}`);

    for (const i of instances) {
      const view = await getJson<BundleView>(`${i.monitor}/bundle`);
      expect(view).toMatchObject({ applied: result.sha256, state: 'ok', error: null });
    }
    expect(readFileSync(join(dir, 'via-ssh'), 'utf8')).toBe('through the tunnel\n');
  });

  it('names a wrong INSTANCE, a stray one and a stray flag in one line', { timeout: 60_000 }, async () => {
    const unknown = await cli(sshOnly, 'configure', '-c', config, '--via-ssh', '127.0.0.99', '--json');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/poolparty: configure --via-ssh: no running instance '127\.0\.0\.99' \(running: /);
    const stray = await cli(env, 'configure', '-c', config, '127.0.0.99');
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain("configure: unexpected argument '127.0.0.99' (INSTANCE goes with --via-ssh)");
    const flag = await cli(env, 'configure', '-c', config, '--accept-new-host-key');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('configure: --accept-new-host-key only applies with --via-ssh');
  });

  // Last: it stops the first host's sshd (its agent keeps running).
  it('without INSTANCE, passes over a node SSH does not reach and enters through the next', {
    timeout: SLOW,
  }, async () => {
    const listed = JSON.parse((await cli(env, 'list', '-c', config, '--json')).stdout) as SshInstanceRecord[];
    // The ssh cloud's hosts in the order they are written: the order entry nodes are tried in.
    const first = listed.find((i) => i.host === sshds[0]?.host);
    const second = listed.find((i) => i.host === sshds[1]?.host);
    if (!first || !second) throw new Error(`instances of the first two hosts not listed: ${JSON.stringify(listed)}`);
    await sshds[0]?.stop(false);
    const r = await cli(sshOnly, 'configure', '-c', config, '--via-ssh', '--timeout', '180s', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(
        `${first.id.replaceAll('.', '\\.')}: unreachable over SSH \\(.*\\); trying ${second.id.replaceAll('.', '\\.')}`,
      ),
    );
    expect(r.stderr).toContain(`${second.host}: authenticated as root`);
    const result = JSON.parse(r.stdout) as ConfigureResult;
    for (const n of result.nodes) expect(n).toMatchObject({ applied: result.sha256, state: 'ok' });
  });
});
