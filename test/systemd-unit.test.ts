import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePoolKey } from '../shared/pool-key.ts';
import { stopProcess, writeLoopbackConfig } from './helpers/agent-process.ts';

const UNIT = resolve('systemd/poolparty-agent.service');
const unit = readFileSync(UNIT, 'utf8');
const directives = (name: string) => [...unit.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map((m) => m[1]);
const isRoot = process.getuid?.() === 0;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-unit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(cmd: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error(`${cmd} is not installed`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('the agent systemd unit', () => {
  it('is rated at most 4.0 ("OK") by systemd-analyze security, and verifies', () => {
    // --offline reads the file itself; the name must end in .service.
    const copy = join(dir, 'poolparty-agent.service');
    copyFileSync(UNIT, copy);
    const r = run('systemd-analyze', ['security', '--offline=true', copy]);
    const level = /Overall exposure level for \S+: ([\d.]+) (\w+)/.exec(r.out);
    expect(level, r.out).not.toBeNull();
    expect(Number(level?.[1])).toBeLessThanOrEqual(4.0);
    expect(run('systemd-analyze', ['verify', copy]).status).toBe(0);
  });

  it('restarts on failure but not on a config error, keeps its state dir, and reports readiness', () => {
    expect(directives('Restart')).toEqual(['on-failure']);
    expect(directives('RestartPreventExitStatus')).toEqual(['2']);
    expect(directives('StateDirectory')).toEqual(['poolparty']);
    expect(directives('Type')).toEqual(['notify']);
    expect(directives('NotifyAccess')).toEqual(['all']);
  });

  // The resolvers install packages with dpkg: under the unit's capability bounding set a package
  // with a file owned by another user and a setuid binary installs as it would unconfined, and the
  // same install fails with no capabilities (so the check can fail).
  it.skipIf(!isRoot)('dpkg installs a package under the unit capability bounding set', () => {
    const caps = (directives('CapabilityBoundingSet')[0] ?? '')
      .split(/\s+/)
      .map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`);
    expect(caps.length).toBeGreaterThan(3);
    const pkg = join(dir, 'pkg');
    const share = join(pkg, 'usr/local/share/poolparty-cap-test');
    mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
    mkdirSync(share, { recursive: true });
    writeFileSync(
      join(pkg, 'DEBIAN/control'),
      'Package: poolparty-cap-test\nVersion: 1.0\nArchitecture: all\nMaintainer: PoolParty tests <t@localhost>\nDescription: capability test\n',
    );
    writeFileSync(join(share, 'owned'), 'x\n');
    chownSync(join(share, 'owned'), 65534, 65534);
    copyFileSync('/bin/true', join(share, 'suid'));
    chmodSync(join(share, 'suid'), 0o4755);
    const deb = join(dir, 'poolparty-cap-test.deb');
    expect(run('dpkg-deb', ['--build', pkg, deb]).status).toBe(0);
    const install = (bounding: string) =>
      run('setpriv', [`--bounding-set=${bounding}`, '--no-new-privs', 'dpkg', '-i', deb]);
    try {
      expect(install('-all').status).not.toBe(0);
      run('dpkg', ['--purge', 'poolparty-cap-test']);
      const ok = install(`-all,${caps.join(',')}`);
      expect(ok.status, ok.out).toBe(0);
      const installed = '/usr/local/share/poolparty-cap-test';
      expect(statSync(join(installed, 'owned')).uid).toBe(65534);
      expect(statSync(join(installed, 'suid')).mode & 0o7777).toBe(0o4755);
    } finally {
      run('dpkg', ['--purge', 'poolparty-cap-test']);
    }
    expect(existsSync('/usr/local/share/poolparty-cap-test/owned')).toBe(false);
  });
});

describe('readiness reported to systemd (Type=notify)', () => {
  let agent: ChildProcess | undefined;
  afterAll(async () => {
    if (agent) await stopProcess(agent);
  });

  it('a first node sends READY=1 with its status on NOTIFY_SOCKET', async () => {
    const socket = join(dir, 'notify.sock');
    // Node cannot bind a unix datagram socket: python plays systemd's end, one message, bounded.
    const listener = spawn(
      'python3',
      [
        '-c',
        `import socket,sys
s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); print('bound', flush=True); s.settimeout(45)
print(s.recv(4096).decode(), flush=True)`,
        socket,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let heard = '';
    listener.stdout?.on('data', (d: Buffer) => {
      heard += d.toString();
    });
    const done = new Promise((r) => listener.once('exit', r));
    try {
      await new Promise<void>((r) => listener.stdout?.once('data', () => r()));
      const keyFile = join(dir, 'pool.key');
      writeFileSync(keyFile, generatePoolKey(), { mode: 0o600 });
      const config = await writeLoopbackConfig(dir, 'n1', { keyFile, bootstrap: [] });
      agent = spawn(process.execPath, [resolve('bin/poolparty-agent.mjs'), '--config', config], {
        env: { ...process.env, NOTIFY_SOCKET: socket },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      agent.stdout?.resume();
      await done;
      expect(heard).toContain('READY=1');
      expect(heard).toContain('STATUS=ready');
    } finally {
      listener.kill();
    }
  }, 60_000);
});
