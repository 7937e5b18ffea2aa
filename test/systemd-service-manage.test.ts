import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleStore } from '../agent/bundle/store.ts';
import { buildBundle } from '../shared/bundle/build.ts';
import { configureSchema } from '../shared/config/configure-schema.ts';
import { defaultTunables } from '../shared/config/tunables.ts';
import { generatePoolKey } from '../shared/pool-key.ts';
import { findPackageRoot } from '../shared/remoter/package-root.ts';
import { pkg, type Resource, service } from '../shared/resources/index.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import { waitFor } from './fixtures/wait.ts';
import { SystemdNamespace, systemdNamespaceUnavailable } from './helpers/systemd-namespace.ts';

/**
 * The agent's resolvers manage services from inside the hardened unit. A real systemd runs as PID 1
 * of its own namespaces (test/helpers/systemd-namespace.ts); systemd/poolparty-agent.service is
 * installed there unchanged and started with `systemctl start`; the agent applies, at first boot, a
 * bundle whose only resources are two services, and the resolver (itamae, then puppet) starts,
 * enables, stops and disables them through systemd. The services then run in their own cgroups,
 * outside the agent's sandbox, while the agent itself runs with the unit's capability bounding
 * set, no_new_privs and seccomp filter (read from /proc, not from the unit file).
 * The same agent installs a package with each resolver: the namespace has no network, so the
 * package is a .deb built here and served from a `file:` apt repository known only inside the
 * namespace's overlay (the package resource names a package, as on a real node; nothing is
 * installed on the host).
 */

const unavailable = systemdNamespaceUnavailable();
const UNIT = resolve('systemd/poolparty-agent.service');
/**
 * Where the namespace sees this checkout (read-only): not its host path, which may be under /tmp,
 * hidden from the agent by its unit's PrivateTmp.
 */
const CHECKOUT = '/opt/poolparty-checkout';
const AGENT = `${CHECKOUT}/bin/poolparty-agent.mjs`;
/** Two units a bundle manages: one it starts and enables, one it stops and disables. */
const A = 'poolparty-probe-a';
const B = 'poolparty-probe-b';
/** The package the bundles install, from the namespace's local apt repository. */
const PKG = 'poolparty-test-pkg';
const PKG_DIR = `/usr/local/share/${PKG}`;
const REPO = '/srv/poolparty-test-repo';
const REPO_LIST = '/etc/apt/sources.list.d/poolparty-test.list';

/** The unit's CapabilityBoundingSet as the kernel's CapBnd mask. */
function unitCapabilityMask(): bigint {
  const names = /^CapabilityBoundingSet=(.*)$/m.exec(readFileSync(UNIT, 'utf8'))?.[1]?.split(/\s+/) ?? [];
  // linux/capability.h numbers of the capabilities the unit keeps today.
  const numbers: Record<string, number> = {
    CAP_CHOWN: 0,
    CAP_DAC_OVERRIDE: 1,
    CAP_DAC_READ_SEARCH: 2,
    CAP_FOWNER: 3,
    CAP_FSETID: 4,
    CAP_KILL: 5,
    CAP_SETGID: 6,
    CAP_SETUID: 7,
    CAP_SETPCAP: 8,
    CAP_SETFCAP: 31,
  };
  return names.reduce((mask, n) => {
    if (numbers[n] === undefined) throw new Error(`unit capability ${n}: add its number to this test`);
    return mask | (1n << BigInt(numbers[n]));
  }, 0n);
}

const title = 'resolvers manage services and install packages from the hardened agent unit (systemd in a namespace)';
describe.skipIf(unavailable !== null)(unavailable ? `${title} — skipped: ${unavailable}` : title, () => {
  let ns: SystemdNamespace;
  let work: string;

  const systemctl = (...args: string[]) => ns.run('systemctl', args).out.trim();
  const journal = () => ns.run('journalctl', ['--no-pager', '-o', 'cat', '-n', '60', '-u', 'poolparty-agent']).out;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'poolparty-service-manage-'));
    ns = await SystemdNamespace.start([{ from: findPackageRoot(), to: CHECKOUT }]);
    for (const probe of [A, B])
      writeFileSync(
        ns.path(`/etc/systemd/system/${probe}.service`),
        `[Unit]\nDescription=${probe}\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n`,
      );
    copyFileSync(UNIT, ns.path('/etc/systemd/system/poolparty-agent.service'));
    mkdirSync(ns.path('/opt/poolparty'), { recursive: true });
    // Where bootstrap installs the agent; here it loads this checkout's build.
    writeFileSync(ns.path('/opt/poolparty/poolparty-agent.mjs'), `import ${JSON.stringify(AGENT)};\n`);
    mkdirSync(ns.path('/etc/poolparty'), { recursive: true });
    writeFileSync(ns.path('/etc/poolparty/pool.key'), generatePoolKey(), { mode: 0o600 });
    expect(ns.run('systemctl', ['daemon-reload']).status).toBe(0);
    localAptRepository();
  }, 180_000);

  /**
   * Builds the test package (a file owned by nobody and a setuid binary, as packages ship, so the
   * install needs the unit's chown/fowner/fsetid) and serves it from a trusted `file:` repository
   * inside the namespace; only that source is updated, offline.
   */
  function localAptRepository() {
    const src = join(work, 'pkg');
    mkdirSync(join(src, 'DEBIAN'), { recursive: true });
    mkdirSync(join(src, PKG_DIR), { recursive: true });
    writeFileSync(
      join(src, 'DEBIAN/control'),
      `Package: ${PKG}\nVersion: 1.0\nArchitecture: all\nMaintainer: PoolParty tests <t@localhost>\nDescription: installed by the agent under its unit\n`,
    );
    writeFileSync(join(src, PKG_DIR, 'owned'), 'x\n');
    chownSync(join(src, PKG_DIR, 'owned'), 65534, 65534);
    copyFileSync('/bin/true', join(src, PKG_DIR, 'suid'));
    chmodSync(join(src, PKG_DIR, 'suid'), 0o4755);
    mkdirSync(ns.path(REPO), { recursive: true, mode: 0o755 });
    // Built on the host into the test's temporary directory (no install there), served from the namespace.
    const deb = join(work, `${PKG}_1.0_all.deb`);
    const build = spawnSync('dpkg-deb', ['--build', src, deb], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    copyFileSync(deb, ns.path(`${REPO}/${PKG}_1.0_all.deb`));
    // The index dpkg-scanpackages would write, without needing dpkg-dev: the control fields, where
    // the file is, its size and hash (apt checks both).
    const bytes = readFileSync(deb);
    writeFileSync(
      ns.path(`${REPO}/Packages`),
      `${readFileSync(join(src, 'DEBIAN/control'), 'utf8')}Filename: ./${PKG}_1.0_all.deb\nSize: ${bytes.length}\nSHA256: ${createHash('sha256').update(bytes).digest('hex')}\n`,
    );
    writeFileSync(ns.path(REPO_LIST), `deb [trusted=yes] file:${REPO} ./\n`);
    const update = ns.run('apt-get', [
      'update',
      '-o',
      `Dir::Etc::SourceList=${REPO_LIST}`,
      '-o',
      'Dir::Etc::SourceParts=-',
      '-o',
      'APT::Get::List-Cleanup=0',
    ]);
    expect(update.status, update.out).toBe(0);
    expect(ns.run('apt-cache', ['policy', PKG]).out).toContain(`file:${REPO}`);
  }

  afterAll(async () => {
    await ns?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /**
   * Starts the agent unit on a config whose first-boot bundle applies `resources` with `resolver`;
   * resolves with GET /bundle once the apply succeeded or failed.
   */
  async function applyWith(resolver: 'itamae' | 'puppet', resources: Resource[]) {
    const configure = configureSchema.parse({ resources, resolver: [resolver] });
    const bundle = await buildBundle({ pool: 'svc', cloud: 'web', definition: {}, configure, baseDir: work });
    // A first boot: the config's bundle is applied only by a node that has applied none.
    rmSync(ns.path('/var/lib/poolparty'), { recursive: true, force: true });
    await new BundleStore(ns.path('/var/lib/poolparty')).put(bundle.sha256, bundle.bytes);
    const config: AgentConfig = {
      pool: 'svc',
      cloud: 'web',
      instanceId: 'systemd-ns',
      dataDir: '/var/lib/poolparty',
      poolKeyFile: '/etc/poolparty/pool.key',
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: [],
      // The namespace has its own network: the default port cannot clash.
      monitor: { host: '127.0.0.1', port: 8642, url: '' },
      tunables: defaultTunables(),
      metrics: {},
      bundle: { sha256: bundle.sha256 },
    };
    writeFileSync(ns.path('/etc/poolparty/agent.json'), JSON.stringify(config));
    // Type=notify: this returns once the agent reported READY=1.
    const start = ns.run('systemctl', ['start', 'poolparty-agent'], 120_000);
    expect(start.status, `${start.out}\n${journal()}`).toBe(0);
    const view = await waitFor(
      `the ${resolver} apply to finish`,
      () => {
        const r = ns.run('curl', ['-sf', 'http://127.0.0.1:8642/bundle']);
        const v = JSON.parse(r.out) as { applied: string | null; state: string; error: string | null };
        return v.applied === bundle.sha256 || v.state === 'failed' ? v : null;
      },
      { timeoutMs: 240_000, everyMs: 1000 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${journal()}`);
    });
    return { ...view, sha256: bundle.sha256, journal: journal() };
  }

  /** The agent process's sandbox, as the kernel sees it. */
  function agentSandbox() {
    const main = Number(systemctl('show', '-P', 'MainPID', 'poolparty-agent'));
    expect(main).toBeGreaterThan(0);
    // MainPID is the namespace's PID number, and ns.run sees the namespace's /proc.
    const status = ns.run('cat', [`/proc/${main}/status`]).out;
    const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(status)?.[1];
    return { capBnd: BigInt(`0x${field('CapBnd')}`), noNewPrivs: field('NoNewPrivs'), seccomp: field('Seccomp') };
  }

  const RUNNING = { active: 'active', enabled: 'enabled' };
  const STOPPED = { active: 'inactive', enabled: 'disabled' };
  const state = (unit: string) => ({ active: systemctl('is-active', unit), enabled: systemctl('is-enabled', unit) });

  /** `up` stopped and disabled, `down` running and enabled: an apply must change both. */
  function arrange(up: string, down: string) {
    expect(ns.run('systemctl', ['disable', '--now', up]).status).toBe(0);
    expect(ns.run('systemctl', ['enable', '--now', down]).status).toBe(0);
    expect(state(up)).toEqual(STOPPED);
    expect(state(down)).toEqual(RUNNING);
  }

  async function managesServices(resolver: 'itamae' | 'puppet', up: string, down: string) {
    arrange(up, down);
    const view = await applyWith(resolver, [
      service(up, { action: 'start', enable: true }),
      service(down, { action: 'stop', enable: false }),
    ]);
    expect(view.applied, JSON.stringify(view)).toBe(view.sha256);
    expect(state(up)).toEqual(RUNNING);
    expect(state(down)).toEqual(STOPPED);
    // The service runs under systemd, in its own cgroup, not in the agent's sandbox.
    expect(systemctl('show', '-P', 'ControlGroup', up)).toBe(`/system.slice/${up}.service`);
    const sandbox = agentSandbox();
    expect(sandbox.capBnd).toBe(unitCapabilityMask());
    expect(sandbox.noNewPrivs).toBe('1');
    expect(sandbox.seccomp).toBe('2');
    expect(ns.run('systemctl', ['stop', 'poolparty-agent']).status).toBe(0);
  }

  it('itamae starts and enables one service and stops and disables another', { timeout: 400_000 }, async () => {
    await managesServices('itamae', A, B);
  });

  it('puppet does the same, the other way round', { timeout: 400_000 }, async () => {
    await managesServices('puppet', B, A);
  });

  // What the two tests above depend on: the resolver reaches the manager over its socket. A unit
  // that hides it (here a drop-in) fails the apply, and the services stay as they were. One
  // resolver is enough here: how each reads a failed resource is tested in resolver.test.ts.
  it('fails the apply when the unit hides the manager socket from the agent', { timeout: 400_000 }, async () => {
    arrange(A, B);
    const dropIn = ns.path('/run/systemd/system/poolparty-agent.service.d');
    mkdirSync(dropIn, { recursive: true });
    writeFileSync(join(dropIn, 'hide-manager.conf'), '[Service]\nInaccessiblePaths=/run/systemd/private\n');
    try {
      expect(ns.run('systemctl', ['daemon-reload']).status).toBe(0);
      const view = await applyWith('puppet', [
        service(A, { action: 'start', enable: true }),
        service(B, { action: 'stop', enable: false }),
      ]);
      expect(view.state, JSON.stringify(view)).toBe('failed');
      expect(view.applied).toBeNull();
      expect(state(A)).toEqual(STOPPED);
      expect(state(B)).toEqual(RUNNING);
    } finally {
      rmSync(dropIn, { recursive: true, force: true });
      ns.run('systemctl', ['stop', 'poolparty-agent']);
      ns.run('systemctl', ['daemon-reload']);
    }
  });

  // A case that failed half way must not leave its agent running: the next `systemctl start` would
  // then be a no-op and that case would read the old agent's apply.
  const stoppingAgent = async (body: () => Promise<void>) => {
    try {
      await body();
    } finally {
      ns.run('systemctl', ['stop', 'poolparty-agent']);
    }
  };

  for (const resolver of ['itamae', 'puppet'] as const) {
    it(`${resolver} installs a package from the namespace's apt repository`, { timeout: 400_000 }, () =>
      stoppingAgent(async () => {
        ns.run('dpkg', ['--purge', PKG]);
        expect(ns.run('dpkg', ['-s', PKG]).status).not.toBe(0);
        const view = await applyWith(resolver, [pkg(PKG)]);
        expect(view.applied, `${JSON.stringify(view)}\n${view.journal}`).toBe(view.sha256);
        expect(ns.run('dpkg', ['-s', PKG]).out).toMatch(/^Status: install ok installed$/m);
        // dpkg kept what the package ships: the owner and the setuid bit need the unit's capabilities,
        // which are all the agent (and so apt and dpkg under it) had.
        const stat = ns.run('stat', ['-c', '%u %a', `${PKG_DIR}/owned`, `${PKG_DIR}/suid`]).out.trim();
        expect(stat.split('\n')).toEqual(['65534 644', '0 4755']);
        expect(agentSandbox().capBnd).toBe(unitCapabilityMask());
      }),
    );

    it(`${resolver} fails the apply for a package no repository has`, { timeout: 400_000 }, () =>
      stoppingAgent(async () => {
        const view = await applyWith(resolver, [pkg('poolparty-no-such-pkg')]);
        expect(view.state, JSON.stringify(view)).toBe('failed');
        expect(view.applied).toBeNull();
        // The failure is apt's, for this package, logged by this agent (not by an earlier case's).
        const agent = systemctl('show', '-P', 'MainPID', 'poolparty-agent');
        const log = ns.run('journalctl', ['--no-pager', '-o', 'cat', `_PID=${agent}`]).out;
        expect(log).toContain('Unable to locate package poolparty-no-such-pkg');
      }),
    );
  }
});
