import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSshUsing } from '../shared/config/ssh-schema.ts';
import { nodeVersionAtLeast } from '../shared/provision/artifact.ts';
import { checkNode, chooseInit } from '../shared/provision/host-checks.ts';
import { fingerprint, KnownHosts } from '../shared/provision/known-hosts.ts';
import { parseKv, shq } from '../shared/provision/scripts.ts';
import { generateKey, keyFingerprint } from './fixtures/sshd.ts';

const run = promisify(execFile);

/** The pure parts of SSH provisioning: trust store, schema, version checks, shell quoting. */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-ssh-units-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The SSH wire blob of an OpenSSH public key line. */
async function blobOf(pubFile: string): Promise<Buffer> {
  return Buffer.from((await readFile(pubFile, 'utf8')).split(' ')[1] as string, 'base64');
}

describe('known_hosts', () => {
  it('fingerprints like ssh-keygen -l', async () => {
    const { keyFile } = await generateKey(dir, 'fp');
    expect(fingerprint(await blobOf(`${keyFile}.pub`))).toBe(await keyFingerprint(`${keyFile}.pub`));
  });

  it('trusts on first use, then refuses a different key until told to replace it', async () => {
    const a = await blobOf(`${(await generateKey(dir, 'a')).keyFile}.pub`);
    const b = await blobOf(`${(await generateKey(dir, 'b')).keyFile}.pub`);
    const file = join(dir, 'kh1');
    await writeFile(file, '# mine\nother.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE\n');
    const kh = new KnownHosts(file);
    expect(await kh.check('10.0.0.1', 2222, a)).toMatchObject({ status: 'added', keyType: 'ssh-ed25519' });
    expect(await kh.check('10.0.0.1', 2222, a)).toMatchObject({ status: 'known' });
    expect(await kh.check('10.0.0.1', 22, b)).toMatchObject({ status: 'added' }); // another port, another entry
    const err = await kh.check('10.0.0.1', 2222, b).catch((e: Error) => e);
    expect(err).toMatchObject({
      name: 'HostKeyMismatchError',
      host: '[10.0.0.1]:2222',
      expected: fingerprint(a),
      got: fingerprint(b),
    });
    expect(await kh.check('10.0.0.1', 2222, b, true)).toMatchObject({ status: 'replaced', previous: fingerprint(a) });
    const text = await readFile(file, 'utf8');
    expect(text).toContain('# mine\nother.example ssh-ed25519');
    expect(text).toContain(`10.0.0.1 ssh-ed25519 ${b.toString('base64')}`);
    expect(text.match(/^\[10\.0\.0\.1\]:2222 /gm)).toHaveLength(1);
    expect(await kh.lookup('10.0.0.1', 2222)).toEqual([fingerprint(b)]);
  });

  it('records parallel first contacts without losing any', async () => {
    const file = join(dir, 'kh2');
    const keys = await Promise.all(
      [1, 2, 3, 4].map(async (n) => blobOf(`${(await generateKey(dir, `p${n}`)).keyFile}.pub`)),
    );
    const kh = new KnownHosts(file);
    await Promise.all(keys.map((k, i) => kh.check(`10.0.1.${i}`, 22, k)));
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(4);
  });

  it('forgets one host:port and keeps every other line', async () => {
    const keys = await Promise.all([1, 2].map(async (n) => blobOf(`${(await generateKey(dir, `f${n}`)).keyFile}.pub`)));
    const file = join(dir, 'kh4');
    await writeFile(file, '# mine\n');
    const kh = new KnownHosts(file);
    await kh.check('i-0abc', 22, keys[0] as Buffer);
    await kh.check('i-0abc', 2222, keys[1] as Buffer);
    expect(await kh.forget('i-0abc', 22)).toBe(1);
    expect(await kh.forget('i-0abc', 22)).toBe(0);
    expect(await kh.lookup('i-0abc', 22)).toEqual([]);
    expect(await kh.lookup('i-0abc', 2222)).toEqual([fingerprint(keys[1] as Buffer)]);
    expect(await readFile(file, 'utf8')).toMatch(/^# mine\n\[i-0abc\]:2222 ssh-ed25519 /);
  });

  it('is readable by OpenSSH itself', async () => {
    const { keyFile } = await generateKey(dir, 'ossh');
    const file = join(dir, 'kh3');
    await new KnownHosts(file).check('127.9.9.9', 2200, await blobOf(`${keyFile}.pub`));
    const { stdout } = await run('ssh-keygen', ['-F', '[127.9.9.9]:2200', '-f', file]);
    expect(stdout).toContain('[127.9.9.9]:2200 ssh-ed25519');
  });
});

describe('ssh using-options', () => {
  it('applies defaults and normalises hosts', () => {
    const u = parseSshUsing(
      { provider: 'ssh', hosts: ['10.0.0.5', { host: 'db.internal', port: 2222, prefix: '/srv/pp/' }] },
      9000,
    );
    expect(u).toEqual({
      provider: 'ssh',
      hosts: [
        { host: '10.0.0.5', port: 22, prefix: '', bind: '10.0.0.5' },
        { host: 'db.internal', port: 2222, prefix: '/srv/pp', bind: '0.0.0.0' },
      ],
      user: 'root',
      keyFile: '~/.ssh/id_ed25519',
      init: 'auto',
      p2pPort: 8643,
      monitorPort: 9000,
      waitTimeout: 60_000,
      // Launcher certificates are valid for a year (8760h) unless the cloud says otherwise.
      certificateValidity: 8760 * 3_600_000,
    });
    expect(parseSshUsing({ provider: 'ssh', hosts: ['h'], waitTimeout: '2m', init: 'none' })).toMatchObject({
      waitTimeout: 120_000,
      init: 'none',
    });
  });

  it('rejects bad input with one line naming the field', () => {
    expect(() => parseSshUsing({ provider: 'ssh', hosts: [] })).toThrow('using: hosts: at least one host is required');
    expect(() => parseSshUsing({ provider: 'ssh', hosts: ['a;rm -rf /'] })).toThrow(/using: hosts\.0: .*invalid host/);
    expect(() => parseSshUsing({ provider: 'ssh', hosts: [{ host: 'h', prefix: 'relative' }] })).toThrow(/prefix/);
    expect(() => parseSshUsing({ provider: 'ssh', hosts: ['h', { host: 'h', port: 22 }] })).toThrow(
      'hosts: h:22 is listed twice',
    );
    expect(() => parseSshUsing({ provider: 'ssh', hosts: ['h'], init: 'upstart' })).toThrow(/using: init/);
    expect(() => parseSshUsing({ provider: 'ssh', hosts: ['h'], waitTimeout: 'soon' })).toThrow(/waitTimeout/);
    expect(() => parseSshUsing({ provider: 'ssh', hosts: ['h'], p2pPort: 8642 })).toThrow(/both 8642/);
    expect(() => parseSshUsing({ provider: 'ssh', hosts: ['h'], password: 'x' })).toThrow(/password/);
  });
});

describe('init mode', () => {
  it("follows the host for 'auto', and refuses what would not run or would run twice", () => {
    const host = '10.0.0.9';
    expect(chooseInit({ host }, { init: 'systemd' })).toBe('systemd');
    expect(chooseInit({ host, init: 'auto' }, { init: 'none' })).toBe('none');
    expect(chooseInit({ host, init: 'none' }, { init: 'systemd' })).toBe('none');
    expect(() => chooseInit({ host, init: 'systemd' }, { init: 'none' })).toThrow(
      "10.0.0.9 does not run systemd (no /run/systemd/system): use init 'none' or 'auto'",
    );
    // User data (or an image) already runs the agent's unit: a detached agent would be a second one.
    expect(() => chooseInit({ host, init: 'none' }, { init: 'systemd', unit_active: '1' })).toThrow(
      "10.0.0.9 runs poolparty-agent.service under systemd: init 'none' would start a second agent beside it; use init 'auto' or 'systemd'",
    );
    expect(chooseInit({ host, init: 'auto' }, { init: 'systemd', unit_active: '1' })).toBe('systemd');
  });
});

describe('node on the target', () => {
  it('compares versions', () => {
    expect(nodeVersionAtLeast('20.19.0')).toBe(true);
    expect(nodeVersionAtLeast('v22.1.0')).toBe(true);
    expect(nodeVersionAtLeast('20.18.9')).toBe(false);
    expect(nodeVersionAtLeast('18.20.4')).toBe(false);
    expect(nodeVersionAtLeast('garbage')).toBe(false);
  });

  it('says what to install when node is missing or too old', () => {
    expect(() => checkNode('web-1', { node: '', path: '/usr/bin:/bin' })).toThrow(
      /node is not installed on web-1 .*install Node\.js 20\.19\.0 or newer/,
    );
    expect(() => checkNode('web-1', { node: '/usr/bin/node', node_version: '18.19.1' })).toThrow(
      'node 18.19.1 at /usr/bin/node on web-1 is too old: the agent needs Node.js 20.19.0 or newer',
    );
    expect(checkNode('web-1', { node: '/usr/bin/node', node_version: '20.20.2' })).toEqual({
      path: '/usr/bin/node',
      version: '20.20.2',
    });
  });
});

describe('script helpers', () => {
  it('shq survives sh with hostile values', async () => {
    const value = `it's "$HOME" \`id\` $(id) \\ end`;
    const { stdout } = await run('sh', ['-c', `x=${shq(value)}; printf '%s' "$x"`]);
    expect(stdout).toBe(value);
  });

  it('parseKv keeps the last value and every repeat', () => {
    expect(parseKv('stopped=1\nnoise\nstopped=2\nhealth={"a":"b=c"}\n')).toEqual({
      last: { stopped: '2', health: '{"a":"b=c"}' },
      all: { stopped: ['1', '2'], health: ['{"a":"b=c"}'] },
    });
  });
});
