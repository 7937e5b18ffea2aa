import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullOverSftp, type SftpBundleSource } from '../agent/bundle/sftp-source.ts';
import { buildBundle } from '../shared/bundle/build.ts';
import { configureSchema } from '../shared/config/configure-schema.ts';
import { hostPattern } from '../shared/provision/known-hosts.ts';
import { directory, file } from '../shared/resources/index.ts';
import { randomLoopbackBase } from './fixtures/procs.ts';
import { canRunSshd, generateKey, Sshd } from './fixtures/sshd.ts';
import { TestPool, waitFor } from './helpers/agents.ts';

const root = await canRunSshd();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An agent pulling its bundle from an SSH host over SFTP: real sshd on loopback, strict host keys. */
describe.skipIf(!root)('bundle pull over SFTP (real sshd)', () => {
  let dir: string;
  let sshd: Sshd;
  let src: SftpBundleSource;
  let wrongKey: string;
  const bytes = Buffer.from(`a bundle archive stand-in ${Math.random()}\n`.repeat(2000));
  const sha = sha256(bytes);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-sftp-'));
    const user = await generateKey(dir, 'user_key');
    wrongKey = (await generateKey(dir, 'other_key')).keyFile;
    sshd = await Sshd.start(randomLoopbackBase(), [user.publicKey]);
    const bundles = join(dir, 'bundles');
    await mkdir(bundles);
    await writeFile(join(bundles, `${sha}.tar.gz`), bytes);
    const hostPub = (await readFile(`${sshd.hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    const knownHostsFile = join(dir, 'known_hosts');
    await writeFile(knownHostsFile, `${hostPattern(sshd.host, sshd.port)} ${hostPub}\n`);
    src = { host: sshd.host, port: sshd.port, user: 'root', keyFile: user.keyFile, dir: bundles, knownHostsFile };
  }, 60_000);

  afterAll(async () => {
    await sshd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pulls the archive byte for byte, trusting a known_hosts entry or a pinned fingerprint', async () => {
    expect((await pullOverSftp(src, sha, 1 << 20)).equals(bytes)).toBe(true);
    const { knownHostsFile: _, ...rest } = src;
    const pinned = await pullOverSftp({ ...rest, hostKey: await sshd.fingerprint() }, sha, 1 << 20);
    expect(pinned.equals(bytes)).toBe(true);
  });

  it('never trusts an unknown or different host key', async () => {
    const empty = join(dir, 'empty_known_hosts');
    await writeFile(empty, '');
    await expect(pullOverSftp({ ...src, knownHostsFile: empty }, sha, 1 << 20)).rejects.toThrow(
      /is not in .*empty_known_hosts: refusing to trust an unknown host/,
    );
    // Nothing was recorded: strict checking adds no entry.
    expect(await readFile(empty, 'utf8')).toBe('');
    const { knownHostsFile: _, ...rest } = src;
    const other = `SHA256:${Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')}`;
    await expect(pullOverSftp({ ...rest, hostKey: other }, sha, 1 << 20)).rejects.toThrow(/host key of .* changed/);
  });

  it('refuses a tampered, oversized or missing archive, and a rejected user key, in one line', async () => {
    const tampered = Buffer.from(bytes);
    tampered[100] = (tampered[100] ?? 0) ^ 1;
    const badSha = sha256(Buffer.from('something else'));
    await writeFile(join(src.dir, `${badSha}.tar.gz`), tampered);
    await expect(pullOverSftp(src, badSha, 1 << 20)).rejects.toThrow(
      new RegExp(`${badSha}\\.tar\\.gz has sha256 ${sha256(tampered)}: refusing it`),
    );
    await expect(pullOverSftp(src, sha, 1000)).rejects.toThrow(/\d+ bytes, more than the 1000 allowed/);
    const missing = 'f'.repeat(64);
    await expect(pullOverSftp(src, missing, 1 << 20)).rejects.toThrow(
      new RegExp(`${missing}\\.tar\\.gz: No such file`),
    );
    await expect(pullOverSftp({ ...src, keyFile: wrongKey }, sha, 1 << 20)).rejects.toThrow(
      /rejected the key .*other_key/,
    );
    for (const bad of [badSha, missing]) {
      const err = await pullOverSftp(src, bad, 1 << 20).catch((e: Error) => e);
      expect((err as Error).name).toBe('BundleSourceError');
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('an agent whose config names the SFTP host applies the bundle at first boot, alone', {
    timeout: 90_000,
  }, async () => {
    const pool = await TestPool.create();
    try {
      const target = join(dir, 'applied');
      const configure = configureSchema.parse({
        resources: [directory(target), file(`${target}/motd`, { content: 'from sftp\n' })],
        resolver: ['itamae'],
      });
      const b = await buildBundle({ pool: pool.pool, cloud: 'web', definition: {}, configure, baseDir: dir });
      await writeFile(join(src.dir, `${b.sha256}.tar.gz`), b.bytes);
      const agent = await pool.start('solo', { bundle: { sha256: b.sha256, sftp: src } });
      await waitFor(
        'the bundle applied',
        async () =>
          ((await (await fetch(`${agent.monitorUrl}/bundle`)).json()) as { applied: string }).applied === b.sha256,
        60_000,
      );
      expect(await readFile(join(target, 'motd'), 'utf8')).toBe('from sftp\n');
    } finally {
      await pool.cleanup();
    }
  });
});
