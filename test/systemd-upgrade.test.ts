import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildArtifact } from '../scripts/build-artifact.mjs';
import { VERSION } from '../shared/version.ts';
import { waitFor } from './fixtures/wait.ts';
import { SystemdNamespace, systemdNamespaceUnavailable } from './helpers/systemd-namespace.ts';
import { cliInNamespaceNetwork, startNamespaceSshd } from './helpers/systemd-ssh-host.ts';
import { withReadiness } from './helpers/upgrade-artifacts.ts';
import type { UpgradeNodeView } from './helpers/upgrade-views.ts';

/**
 * Issue 19 under a real systemd: systemd runs as PID 1 of its own namespaces
 * (test/helpers/systemd-namespace.ts) with sshd as a unit, and `poolparty bootstrap` installs the
 * agent there over SSH as it does on any ssh host with systemd (the real unit, enabled, started,
 * executing the store's link current.mjs). A one-node pool: `poolparty upgrade` to a rebuild with
 * another version, then to an artifact that exits at start, then to one that never becomes ready
 * while the unit's main process is killed mid-gate (systemd restarts the unit). The unit must stay
 * active, the node come back on the good artifact by itself each time, and /upgrade say why.
 */

const unavailable = systemdNamespaceUnavailable();
const CLI = resolve('bin/poolparty.mjs');
const UNIT = 'poolparty-agent';
const STORE = '/var/lib/poolparty/upgrade';
const INSTALLED = '/opt/poolparty/poolparty-agent.mjs';
const V2 = `${VERSION}-sysu2`;
const GATE = '60s';

const title = 'poolparty upgrade of an agent under its systemd unit (systemd in a namespace, one-node ssh pool)';
describe.skipIf(unavailable !== null)(unavailable ? `${title} — skipped: ${unavailable}` : title, () => {
  let ns: SystemdNamespace;
  let dir: string;
  let config: string;
  let built: string;
  let env: NodeJS.ProcessEnv;

  const show = (prop: string) => ns.run('systemctl', ['show', '-P', prop, UNIT]).out.trim();
  const journal = () => ns.run('journalctl', ['--no-pager', '-o', 'cat', '-n', '80', '-u', UNIT]).out;
  const cat = (path: string) => ns.run('cat', [path]).out;
  const get = <T>(route: string) => JSON.parse(ns.run('curl', ['-sf', `http://127.0.0.1:8642${route}`]).out) as T;
  const cli = (...args: string[]) =>
    cliInNamespaceNetwork(
      ns,
      [CLI, args[0] as string, '--state-dir', join(dir, 'state'), ...args.slice(1)],
      env,
      600_000,
    );
  /** The unit's processes (namespace pids) with their command lines, main first. */
  const processes = () => {
    const main = Number(show('MainPID'));
    const pids = cat(`/sys/fs/cgroup${show('ControlGroup')}/cgroup.procs`)
      .trim()
      .split('\n')
      .map(Number);
    const cmdline = (pid: number) => cat(`/proc/${pid}/cmdline`).split('\0').join(' ');
    return {
      main,
      mainCmd: cmdline(main),
      others: pids.filter((p) => p !== main).map((p) => ({ pid: p, cmd: cmdline(p) })),
    };
  };

  /** `poolparty upgrade` of the pool to `file`, judged by the gate GATE. */
  const upgradeTo = (file: string) =>
    cli('upgrade', '-c', config, '--artifact', file, '--gate', GATE, '--timeout', '4m', '--yes', '--json');
  /** Waits for the node to serve the rebuild again, ready; returns its GET /upgrade. */
  const backOnRebuild = (timeoutMs: number) =>
    waitFor(
      'the node ready on the rebuild',
      () => {
        const v = get<UpgradeNodeView>('/upgrade');
        return v.self.version === V2 && v.self.ready ? v : null;
      },
      { timeoutMs, everyMs: 500 },
    );

  async function artifact(name: string, version: string, bytes: Buffer | string) {
    await mkdir(join(dir, name), { recursive: true });
    await writeFile(join(dir, name, 'poolparty-agent.mjs'), bytes);
    await writeFile(join(dir, name, 'poolparty-agent.json'), JSON.stringify({ version }));
    return join(dir, name, 'poolparty-agent.mjs');
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-systemd-upgrade-'));
    built = (await buildArtifact({ outdir: join(dir, 'art') })).file;
    env = { ...process.env, POOLPARTY_ARTIFACT_DIR: join(dir, 'art') };
    ns = await SystemdNamespace.start();
    const { keyFile } = await startNamespaceSshd(ns, dir);
    config = join(dir, 'clouds.ts');
    await writeFile(
      config,
      `import { definePool, ssh } from 'poolparty';
export default definePool({
  name: 'sysu',
  clouds: {
    web: {
      instances: { min: 1, max: 1 },
      using: ssh({ hosts: [{ host: '127.0.0.1', port: 22 }], user: 'root', keyFile: ${JSON.stringify(keyFile)}, init: 'systemd', waitTimeout: '20s' }),
      agent: { upgradeGate: '${GATE}' },
    },
  },
});
`,
    );
  }, 300_000);

  afterAll(async () => {
    await ns?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let mainPid = 0;

  it('bootstrap installs and starts the agent under its unit, executing the store link', {
    timeout: 300_000,
  }, async () => {
    const boot = await cli('bootstrap', '-c', config, '--timeout', '120s', '--json');
    expect(boot.code, `${boot.stderr}\n${journal()}`).toBe(0);
    expect(show('ActiveState')).toBe('active');
    expect(show('NRestarts')).toBe('0');
    const p = processes();
    mainPid = p.main;
    expect(p.mainCmd).toContain(`${STORE}/current.mjs --config`);
    expect(ns.run('readlink', [`${STORE}/current.mjs`]).out.trim()).toBe(INSTALLED);
    expect(get<{ version: string }>('/health').version).toBe(VERSION);
  });

  it('upgrades to a rebuild: the unit stays active with its main pid, the new artifact serves', {
    timeout: 600_000,
  }, async () => {
    const v2 = await artifact('v2', V2, Buffer.concat([await readFile(built), Buffer.from('\n// v2 rebuild\n')]));
    const r = await upgradeTo(v2);
    expect(r.code, `${r.stderr}\n${journal()}`).toBe(0);
    const sha = (JSON.parse(r.stdout) as { sha256: string }).sha256;
    const target = `${STORE}/artifacts/${sha}/poolparty-agent.mjs`;
    expect(get<{ version: string }>('/health').version).toBe(V2);
    expect(ns.run('readlink', [`${STORE}/current.mjs`]).out.trim()).toBe(target);
    expect(ns.run('readlink', [`${STORE}/previous.mjs`]).out.trim()).toBe(INSTALLED);
    expect(show('ActiveState')).toBe('active');
    expect(show('NRestarts')).toBe('0');
    // The unit's main process is the agent systemd started, now supervising the new artifact as
    // its child in the unit's cgroup (so stop, restart and the journal reach it).
    const p = processes();
    expect(p.main).toBe(mainPid);
    expect(
      p.others.filter((o) => o.cmd.includes(`${target} --config`)),
      JSON.stringify(p),
    ).toHaveLength(1);
    // The rollout is complete once the leader runs the target; its supervisor records the trial's
    // outcome (last.json) when it sees the new agent ready, a moment later: wait for it, bounded.
    const view = await waitFor(
      'the trial of the new artifact recorded as passed',
      () => {
        const v = get<UpgradeNodeView>('/upgrade');
        return v.self.last ? v : null;
      },
      { timeoutMs: 30_000, everyMs: 250 },
    );
    expect(view.self).toMatchObject({ version: V2, sha256: sha, ready: true, last: { sha256: sha, ok: true } });
  });

  it('an artifact that exits at start is rolled back by the node; the unit stays active on the rebuild', {
    timeout: 600_000,
  }, async () => {
    const good = ns.run('readlink', [`${STORE}/current.mjs`]).out.trim();
    const broken = await artifact('broken', `${VERSION}-broken`, 'process.exit(3);\n');
    const r = await upgradeTo(broken);
    expect(r.code, `${r.stdout}\n${r.stderr}\n${journal()}`).toBe(1);
    expect(r.stderr).toMatch(
      /halted at 127\.0\.0\.1: rolled back: the new agent exited \(code 3\) before it was ready/,
    );
    const view = await backOnRebuild(60_000);
    expect(view.self.last).toMatchObject({ ok: false, reason: expect.stringMatching(/exited \(code 3\)/) });
    expect(view.rollout?.halted?.reason).toMatch(/exited \(code 3\)/);
    expect(ns.run('readlink', [`${STORE}/current.mjs`]).out.trim()).toBe(good);
    expect(show('ActiveState')).toBe('active');
    expect(show('NRestarts')).toBe('0');
    expect(processes().main).toBe(mainPid);
  });

  it('the unit restarted mid-gate (main process killed) comes back on the rebuild, not on the artifact under trial', {
    timeout: 600_000,
  }, async () => {
    const good = ns.run('readlink', [`${STORE}/current.mjs`]).out.trim();
    const never = await artifact('never', `${VERSION}-never`, withReadiness(await readFile(built), 'false'));
    const upgrading = upgradeTo(never);
    // The artifact under trial runs (as the supervisor's child) but is not ready: kill the unit's
    // main process, as an OOM kill or a crash would; Restart=on-failure starts the unit again.
    await waitFor(
      'the artifact under trial to run',
      () => processes().others.some((o) => o.cmd.includes('/artifacts/') && !o.cmd.includes(good)),
      {
        timeoutMs: 120_000,
        everyMs: 250,
      },
    );
    expect(ns.run('kill', ['-KILL', String(processes().main)]).status).toBe(0);
    const r = await upgrading;
    expect(r.code, `${r.stdout}\n${r.stderr}\n${journal()}`).toBe(1);
    const view = await backOnRebuild(90_000);
    // The unit's ExecStartPre returned it before anything ran, and said so to the leader.
    const why = 'the unit started again before the new agent was ready';
    expect(view.self.last).toMatchObject({ ok: false, reason: why });
    expect(view.rollout?.halted?.reason).toBe(`rolled back: ${why}`);
    expect(r.stderr).toContain(`halted at 127.0.0.1: rolled back: ${why}`);
    expect(journal()).toMatch(/upgrade trial of [0-9a-f]{64} not judged: returned to /);
    expect(ns.run('readlink', [`${STORE}/current.mjs`]).out.trim()).toBe(good);
    expect(show('ActiveState')).toBe('active');
    expect(show('NRestarts')).toBe('1');
  });
});
