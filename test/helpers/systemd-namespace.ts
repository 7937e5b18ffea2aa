import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmdirSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { waitFor } from '../fixtures/wait.ts';

/**
 * A real systemd as PID 1 of its own PID, mount, UTS, IPC, network and cgroup namespaces, so a
 * test can `systemctl start` a unit and let that unit manage other units, on a machine whose own
 * init is not systemd. The host is not touched: the root is an overlay of / whose writes land in
 * a tmpfs, /dev, /run and /tmp are private, /proc/sys and /sys are read-only, the unit search path
 * holds only what `setupScript` puts there (no generators, none of the distribution's sysinit
 * units, which would apply sysctls or create device nodes on the host), and the manager's
 * capability bounding set lacks what reaches past the namespaces (modules, clock, raw I/O, syslog).
 */

/** systemd's own capabilities: those of systemd-nspawn's default set, plus net_admin (its network is private). */
export const MANAGER_CAPS = [
  'audit_write',
  'chown',
  'dac_override',
  'dac_read_search',
  'fowner',
  'fsetid',
  'ipc_owner',
  'kill',
  'lease',
  'linux_immutable',
  'mknod',
  'net_admin',
  'net_bind_service',
  'setfcap',
  'setgid',
  'setpcap',
  'setuid',
  'sys_admin',
  'sys_boot',
  'sys_chroot',
  'sys_nice',
  'sys_ptrace',
  'sys_resource',
  'sys_tty_config',
];

/** The target the manager boots to: nothing but the journal. */
export const BOOT_TARGET = 'poolparty-ns.target';

/** Unit files of the host kept in the namespace (journald, so `journalctl -u` explains a failure). */
const HOST_UNITS = [
  'systemd-journald.service',
  'systemd-journald.socket',
  'systemd-journald-dev-log.socket',
  'systemd-journald-audit.socket',
];

/** Targets a service's default dependencies and the agent unit name; empty here. */
const EMPTY_TARGETS = [
  'sysinit.target',
  'basic.target',
  'sockets.target',
  'paths.target',
  'timers.target',
  'slices.target',
  'local-fs.target',
  'shutdown.target',
  'network.target',
  'network-online.target',
  'multi-user.target',
];

const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * The script the namespace's first process runs before it becomes systemd: builds the root under
 * `dir` and execs the manager. `unitDirs` are the host's unit directories (deduplicated real
 * paths), each hidden behind a tmpfs holding only the units named above.
 */
/** A host directory (`from`) shown read-only at `to` in the namespace. */
export interface Bind {
  from: string;
  to: string;
}

export function setupScript(
  dir: string,
  unitDirs: readonly string[],
  generatorDirs: readonly string[],
  binds: readonly Bind[] = [],
): string {
  const r = `${dir}/root`;
  const lines = [
    'set -eu',
    'mount --make-rprivate /',
    `mkdir -p ${q(`${dir}/layer`)} ${q(r)}`,
    // The writable layer is a tmpfs: everything written in the namespace vanishes with it.
    `mount -t tmpfs -o mode=0700 poolparty-ns ${q(`${dir}/layer`)}`,
    `mkdir ${q(`${dir}/layer/upper`)} ${q(`${dir}/layer/work`)}`,
    `mount -t overlay overlay -o lowerdir=/,upperdir=${dir}/layer/upper,workdir=${dir}/layer/work ${q(r)}`,
    `mount -t proc -o nosuid,nodev,noexec proc ${q(`${r}/proc`)}`,
    ...['sys', 'sysrq-trigger'].map(
      (p) =>
        `if [ -e ${q(`${r}/proc/${p}`)} ]; then mount --bind ${q(`${r}/proc/${p}`)} ${q(`${r}/proc/${p}`)} && mount -o remount,bind,ro ${q(`${r}/proc/${p}`)}; fi`,
    ),
    `mount -t sysfs -o ro,nosuid,nodev,noexec sysfs ${q(`${r}/sys`)}`,
    `mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 ${q(`${r}/sys/fs/cgroup`)}`,
    `mount -t tmpfs -o mode=0755,nosuid tmpfs ${q(`${r}/dev`)}`,
    ...DEVICES.flatMap((d) => [`touch ${q(`${r}/dev/${d}`)}`, `mount --bind /dev/${d} ${q(`${r}/dev/${d}`)}`]),
    // The manager logs to /dev/console: here a file the test reads when the manager fails.
    `touch ${q(`${r}/dev/console`)}`,
    `mount --bind ${q(`${dir}/console.log`)} ${q(`${r}/dev/console`)}`,
    `mkdir ${q(`${r}/dev/pts`)} ${q(`${r}/dev/shm`)}`,
    `mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts ${q(`${r}/dev/pts`)}`,
    `ln -s pts/ptmx ${q(`${r}/dev/ptmx`)}`,
    `mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs ${q(`${r}/dev/shm`)}`,
    `ln -s /proc/self/fd ${q(`${r}/dev/fd`)}`,
    ...['stdin', 'stdout', 'stderr'].map((s, i) => `ln -s /proc/self/fd/${i} ${q(`${r}/dev/${s}`)}`),
    `mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs ${q(`${r}/run`)}`,
    `mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs ${q(`${r}/tmp`)}`,
    // Host directories shown read-only at a path of the namespace's choosing: a checkout under
    // /tmp (as a CI clone may be) is hidden by the tmpfs above and by the unit's PrivateTmp.
    ...binds.flatMap(({ from, to }) => [
      `mkdir -p ${q(`${r}${to}`)}`,
      `mount --bind ${q(from)} ${q(`${r}${to}`)}`,
      `mount -o remount,bind,ro ${q(`${r}${to}`)}`,
    ]),
    `mount -t tmpfs -o mode=0755 tmpfs ${q(`${r}/etc/systemd/system`)}`,
    ...generatorDirs.map((g) => `mount -t tmpfs -o mode=0755 tmpfs ${q(`${r}${g}`)}`),
    ...unitDirs.flatMap((u) => [
      `mount -t tmpfs -o mode=0755 tmpfs ${q(`${r}${u}`)}`,
      ...HOST_UNITS.map((n) => `if [ -e ${q(`${u}/${n}`)} ]; then cp ${q(`${u}/${n}`)} ${q(`${r}${u}/`)}; fi`),
    ]),
    `mkdir -p ${q(`${r}/run/systemd/system`)}`,
    ...EMPTY_TARGETS.map(
      (t) => `printf '[Unit]\\nDescription=%s (empty)\\n' ${t} > ${q(`${r}/run/systemd/system/${t}`)}`,
    ),
    `printf '[Unit]\\nDescription=PoolParty test namespace\\nWants=systemd-journald.socket systemd-journald-dev-log.socket\\n' > ${q(`${r}/run/systemd/system/${BOOT_TARGET}`)}`,
    `cd ${q(r)}`,
    'mkdir -p .poolparty-old-root',
    'pivot_root . .poolparty-old-root',
    'umount -l /.poolparty-old-root',
    'rmdir /.poolparty-old-root',
    `exec setpriv --bounding-set=-all,${MANAGER_CAPS.map((c) => `+${c}`).join(',')} env -i container=poolparty-test PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /lib/systemd/systemd --system --unit=${BOOT_TARGET} --log-target=console --show-status=no`,
  ];
  return `${lines.join('\n')}\n`;
}

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** The cgroup2 hierarchy's mount point, or null (a legacy-only machine). */
export function cgroup2Mount(): string | null {
  const CGROUP2_MAGIC = 0x63677270;
  for (const p of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    try {
      if (statfsSync(p).type === CGROUP2_MAGIC) return p;
    } catch {
      // not mounted
    }
  }
  return null;
}

/** Why a systemd namespace cannot be made here, or null when it can. */
export function systemdNamespaceUnavailable(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'needs root (mount, PID and cgroup namespaces)';
  if (!existsSync('/lib/systemd/systemd')) return '/lib/systemd/systemd is not installed';
  for (const c of ['unshare', 'nsenter', 'setpriv', 'pivot_root', 'systemctl'])
    if (!has(c)) return `${c} is not installed (util-linux / systemd)`;
  if (!readFileSync('/proc/filesystems', 'utf8').includes('\toverlay\n')) return 'overlayfs is not available';
  const cgroup = cgroup2Mount();
  if (!cgroup) return 'no cgroup2 hierarchy mounted (/sys/fs/cgroup or /sys/fs/cgroup/unified)';
  return namespacesRefused(cgroup);
}

/**
 * Tries what start() needs before a test relies on it: a container runner may be root with every
 * tool installed and still refuse new namespaces, an overlay of /, or a cgroup of our own.
 */
function namespacesRefused(cgroup: string): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'poolparty-ns-probe-'));
  try {
    try {
      mkdirSync(join(cgroup, basename(dir)));
      rmdirSync(join(cgroup, basename(dir)));
    } catch (err) {
      return `cannot create a cgroup under ${cgroup}: ${(err as Error).message}`;
    }
    const d = q(dir);
    const script = [
      `mkdir ${d}/l ${d}/m`,
      `mount -t tmpfs t ${d}/l`,
      `mkdir ${d}/l/u ${d}/l/w`,
      `mount -t overlay overlay -o lowerdir=/,upperdir=${dir}/l/u,workdir=${dir}/l/w ${d}/m`,
    ].join(' && ');
    const flags = ['--mount', '--pid', '--fork', '--uts', '--ipc', '--net', '--cgroup', '--propagation', 'private'];
    const probe = spawnSync('unshare', [...flags, 'sh', '-c', script], { encoding: 'utf8', timeout: 10_000 });
    if (probe.status !== 0)
      return `namespaces or an overlay of / refused here: ${(probe.stderr || probe.error?.message || '').trim()}`;
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RunResult {
  status: number | null;
  out: string;
}

export class SystemdNamespace {
  private constructor(
    /** Host PID of the namespace's systemd (PID 1 inside). */
    readonly pid: number,
    private readonly dir: string,
    private readonly cgroup: string,
    private readonly unshare: ChildProcess,
  ) {}

  /**
   * Boots the manager; resolves once `systemctl is-system-running` says it has finished starting.
   * `binds`: host directories to show read-only inside (e.g. the checkout under test).
   */
  static async start(binds: readonly Bind[] = []): Promise<SystemdNamespace> {
    const unavailable = systemdNamespaceUnavailable();
    if (unavailable) throw new Error(`systemd namespace unavailable: ${unavailable}`);
    const dir = await mkdtemp(join(tmpdir(), 'poolparty-systemd-ns-'));
    closeSync(openSync(join(dir, 'console.log'), 'w'));
    const realDirs = (paths: string[]) => [...new Set(paths.filter((p) => existsSync(p)).map((p) => realpathSync(p)))];
    const units = realDirs(['/lib/systemd/system', '/usr/lib/systemd/system']);
    const generators = realDirs(['/lib/systemd/system-generators', '/usr/lib/systemd/system-generators']);
    const script = join(dir, 'setup.sh');
    writeFileSync(
      script,
      setupScript(
        dir,
        units,
        generators,
        binds.map((b) => ({ from: realpathSync(b.from), to: b.to })),
      ),
      { mode: 0o700 },
    );
    // Its own cgroup, which becomes the root of the namespace's cgroup tree. If this process dies
    // without stop(), the death signals take unshare and then the namespace's PID 1 with it.
    const cgroup = join(cgroup2Mount() as string, `poolparty-test-${basename(dir)}`);
    mkdirSync(cgroup);
    const unshare = spawn(
      'sh',
      [
        '-c',
        `echo $$ > ${q(`${cgroup}/cgroup.procs`)} && exec setpriv --pdeathsig KILL unshare --kill-child=SIGKILL --mount --pid --fork --uts --ipc --net --cgroup --propagation private bash ${q(script)}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    unshare.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const failed = () => (unshare.exitCode !== null ? `setup exited ${unshare.exitCode}: ${stderr.trim()}` : null);
    let pid = 0;
    try {
      // A setup that failed ends the wait at once (-1) instead of at the timeout.
      pid = await waitFor(
        'the namespace manager to exec systemd',
        () => {
          if (failed()) return -1;
          const child = readFileSync(`/proc/${unshare.pid}/task/${unshare.pid}/children`, 'utf8').trim();
          return child && readFileSync(`/proc/${child}/comm`, 'utf8').trim() === 'systemd' ? Number(child) : 0;
        },
        { timeoutMs: 30_000 },
      );
      if (pid === -1) throw new Error(failed() as string);
      const ns = new SystemdNamespace(pid, dir, cgroup, unshare);
      await waitFor(
        'the namespace manager to finish booting',
        () => {
          if (failed()) return true;
          return /^(running|degraded)$/m.test(ns.run('systemctl', ['is-system-running']).out);
        },
        { timeoutMs: 60_000, everyMs: 250 },
      );
      if (failed()) throw new Error(failed() as string);
      return ns;
    } catch (err) {
      const console = readFileSync(join(dir, 'console.log'), 'utf8').split('\n').slice(-20).join('\n');
      await new SystemdNamespace(pid, dir, cgroup, unshare).stop();
      throw new Error(`${(err as Error).message}\nmanager console:\n${console}`);
    }
  }

  /** Runs a command inside every namespace of the manager (and its root); never throws for its exit. */
  run(cmd: string, args: readonly string[], timeoutMs = 60_000): RunResult {
    const r = spawnSync('nsenter', ['-t', String(this.pid), '-a', cmd, ...args], {
      encoding: 'utf8',
      timeout: timeoutMs,
    });
    return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
  }

  /** A path of the namespace's file system as seen from the host (writes land in its overlay). */
  path(p: string): string {
    return `/proc/${this.pid}/root${p}`;
  }

  /** Kills everything in the namespace (its mounts go with it) and removes its cgroup and files. */
  async stop(): Promise<void> {
    if (this.unshare.exitCode === null && this.unshare.signalCode === null) {
      const exited = new Promise((r) => this.unshare.once('exit', r));
      // SIGKILL to a PID namespace's init kills every process in it.
      try {
        if (this.pid > 0) process.kill(this.pid, 'SIGKILL');
        else this.unshare.kill('SIGKILL');
      } catch {
        // already gone: the exit event follows
      }
      await exited;
    }
    await waitFor('the namespace cgroups to empty', () => removeCgroupTree(this.cgroup), { timeoutMs: 30_000 });
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** rmdir of a cgroup tree, deepest first; false while a cgroup still has processes. */
function removeCgroupTree(path: string): boolean {
  if (!existsSync(path)) return true;
  for (const e of readdirSync(path, { withFileTypes: true }))
    if (e.isDirectory() && !removeCgroupTree(join(path, e.name))) return false;
  try {
    rmdirSync(path);
    return true;
  } catch {
    return false;
  }
}
