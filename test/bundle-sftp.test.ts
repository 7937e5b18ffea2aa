import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleSourceError, pullOverSftp, type SftpBundleSource } from '../agent/bundle/sftp-source.ts';
import { buildBundle } from '../shared/bundle/build.ts';
import { configureSchema } from '../shared/config/configure-schema.ts';
import { hostPattern } from '../shared/provision/known-hosts.ts';
import { directory, file } from '../shared/resources/index.ts';
import { randomLoopbackBase } from './fixtures/procs.ts';
import { canRunSshd, generateKey, Sshd } from './fixtures/sshd.ts';
import { waitFor } from './fixtures/wait.ts';
import { TestPool } from './helpers/agents.ts';

const run = promisify(execFile);
const root = await canRunSshd();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MAX = 1 << 20;

/** The pull's error, asserted to be one BundleSourceError line. */
async function failure(p: Promise<unknown>): Promise<BundleSourceError> {
  const err = await p.then(
    () => {
      throw new Error('the pull succeeded');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BundleSourceError);
  expect((err as Error).name).toBe('BundleSourceError');
  expect((err as Error).message).not.toContain('\n');
  return err as BundleSourceError;
}

/** An agent pulling its bundle from an SSH host over SFTP: real sshd on loopback, strict host keys. */
describe.skipIf(!root)('bundle pull over SFTP (real sshd)', () => {
  let dir: string;
  let sshd: Sshd;
  let src: SftpBundleSource;
  let wrongKey: string;
  let hostLine: string;
  let bytes: Buffer;
  let sha: string;
  /** FIFOs a stalled pull is blocked on (server side); opened for writing at the end to free it. */
  const fifos: string[] = [];
  const accepted = () => sshd.log.split('Accepted publickey').length - 1;
  /** Connections this process still holds to sshd (any TCP state). */
  const openConnections = async () => {
    const { stdout } = await run('ss', ['-Htanp']);
    return stdout
      .split('\n')
      .filter((l) => l.includes(`${sshd.host}:${sshd.port} `) && l.includes(`pid=${process.pid},`));
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-sftp-'));
    const user = await generateKey(dir, 'user_key');
    wrongKey = (await generateKey(dir, 'other_key')).keyFile;
    sshd = await Sshd.start(randomLoopbackBase(), [user.publicKey]);
    const configure = configureSchema.parse({
      resources: [file('/tmp/poolparty-sftp-never-applied', { content: 'x\n' })],
      resolver: ['itamae'],
    });
    ({ bytes, sha256: sha } = await buildBundle({
      pool: 'sftp',
      cloud: 'web',
      definition: {},
      configure,
      baseDir: dir,
    }));
    const bundles = join(dir, 'bundles');
    await mkdir(bundles);
    await writeFile(join(bundles, `${sha}.tar.gz`), bytes);
    hostLine = (await readFile(`${sshd.hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    const knownHostsFile = join(dir, 'known_hosts');
    await writeFile(knownHostsFile, `${hostPattern(sshd.host, sshd.port)} ${hostLine}\n`);
    src = { host: sshd.host, port: sshd.port, user: 'root', keyFile: user.keyFile, dir: bundles, knownHostsFile };
  }, 60_000);

  afterAll(async () => {
    for (const fifo of fifos) {
      // Non-blocking: succeeds only while sftp-server is blocked opening it, and frees it (EOF).
      const fh = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
      await fh?.close();
    }
    await sshd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pulls a built bundle byte for byte, trusting a known_hosts entry or a pinned fingerprint', async () => {
    expect((await pullOverSftp(src, sha, MAX)).equals(bytes)).toBe(true);
    const { knownHostsFile: _, ...pinnedOnly } = src;
    const fp = await sshd.fingerprint();
    expect((await pullOverSftp({ ...pinnedOnly, hostKey: fp }, sha, MAX)).equals(bytes)).toBe(true);
    // With its base64 padding, as some tools print it; and exactly maxBytes is allowed.
    expect((await pullOverSftp({ ...pinnedOnly, hostKey: `${fp}=` }, sha, bytes.length)).equals(bytes)).toBe(true);
    expect(await openConnections()).toEqual([]);
  });

  it('accepts a hashed known_hosts entry (a file copied from ~/.ssh/known_hosts)', async () => {
    const hashed = join(dir, 'hashed_known_hosts');
    await writeFile(hashed, `other.example ${hostLine}\n${hostPattern(sshd.host, sshd.port)} ${hostLine}\n`);
    await run('ssh-keygen', ['-H', '-f', hashed]);
    const text = await readFile(hashed, 'utf8');
    expect(text).not.toContain(sshd.host);
    expect(text).toMatch(/^\|1\|/);
    expect((await pullOverSftp({ ...src, knownHostsFile: hashed }, sha, MAX)).equals(bytes)).toBe(true);
  });

  it('never trusts an unknown or different host key, and stops before authenticating', async () => {
    const before = accepted();
    const empty = join(dir, 'empty_known_hosts');
    await writeFile(empty, '');
    const unknown = await failure(pullOverSftp({ ...src, knownHostsFile: empty }, sha, MAX));
    expect(unknown.reason).toBe('host-key');
    expect(unknown.message).toMatch(
      new RegExp(
        `^root@${sshd.host}:${sshd.port}: cannot pull .*${sha}\\.tar\\.gz: host key SHA256:\\S+ of .* is not in .*empty_known_hosts: refusing to trust an unknown host$`,
      ),
    );
    expect(await readFile(empty, 'utf8')).toBe(''); // strict checking records nothing
    // A known_hosts file naming the host with another key, and a wrong pinned fingerprint.
    const other = join(dir, 'other_known_hosts');
    await writeFile(
      other,
      `${hostPattern(sshd.host, sshd.port)} ${(await readFile(`${wrongKey}.pub`, 'utf8')).trim()}\n`,
    );
    const changed = await failure(pullOverSftp({ ...src, knownHostsFile: other }, sha, MAX));
    expect(changed.reason).toBe('host-key');
    expect(changed.message).toMatch(/host key of .* changed: .*update the known_hosts file or hostKey/);
    const { knownHostsFile: _, ...pinnedOnly } = src;
    const wrongPin = `SHA256:${Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')}`;
    const pinned = await failure(pullOverSftp({ ...pinnedOnly, hostKey: wrongPin }, sha, MAX));
    expect(pinned.reason).toBe('host-key');
    expect(pinned.message).toContain(`expected ${wrongPin}, got ${await sshd.fingerprint()}`);
    // The host key is checked during key exchange, before any authentication: nothing was sent.
    expect(accepted()).toBe(before);
  });

  it('refuses a rejected user key', async () => {
    const err = await failure(pullOverSftp({ ...src, keyFile: wrongKey }, sha, MAX));
    expect(err.reason).toBe('auth');
    expect(err.message).toMatch(/rejected the key .*other_key \(publickey authentication failed\)/);
  });

  it('refuses an archive changed on the server, returning nothing', async () => {
    const tamperedDir = join(dir, 'tampered');
    await mkdir(tamperedDir);
    const tampered = Buffer.from(bytes);
    tampered[tampered.length >> 1] = (tampered[tampered.length >> 1] ?? 0) ^ 1;
    await writeFile(join(tamperedDir, `${sha}.tar.gz`), tampered);
    const err = await failure(pullOverSftp({ ...src, dir: tamperedDir }, sha, MAX));
    expect(err.reason).toBe('hash-mismatch');
    expect(err.message).toBe(
      `root@${sshd.host}:${sshd.port}: ${tamperedDir}/${sha}.tar.gz has sha256 ${sha256(tampered)}: refusing it`,
    );
  });

  it('refuses an archive larger than maxBytes, and a missing one, naming the file', async () => {
    const big = await failure(pullOverSftp(src, sha, bytes.length - 1));
    expect(big.reason).toBe('too-large');
    expect(big.message).toBe(
      `root@${sshd.host}:${sshd.port}: ${src.dir}/${sha}.tar.gz: ${bytes.length} bytes, more than the ${bytes.length - 1} allowed`,
    );
    const missing = 'f'.repeat(64);
    const gone = await failure(pullOverSftp({ ...src, dir: `${src.dir}/` }, missing, MAX));
    expect(gone.reason).toBe('missing');
    expect(gone.message).toBe(`root@${sshd.host}:${sshd.port}: ${src.dir}/${missing}.tar.gz: no such file`);
    const bad = await failure(pullOverSftp(src, 'not-a-sha', MAX));
    expect(bad.message).toMatch(/not a sha256 hex digest/);
    expect(await openConnections()).toEqual([]);
  });

  it('gives up on a stalled transfer at the timeout, or when aborted, and closes the connection', async () => {
    // sftp-server blocks opening a FIFO nobody writes to: a server that accepted and went silent.
    const stalled = 'e'.repeat(64);
    const fifo = join(src.dir, `${stalled}.tar.gz`);
    await run('mkfifo', [fifo]);
    fifos.push(fifo);
    const before = accepted();
    const slow = await failure(pullOverSftp(src, stalled, MAX, { timeoutMs: 1500 }));
    expect(slow.reason).toBe('timeout');
    expect(slow.message).toBe(`root@${sshd.host}:${sshd.port}: pulling ${fifo} timed out after 1.5s`);
    expect(accepted()).toBe(before + 1); // it did connect: the stall was in the transfer
    await waitFor('the stalled connection closed', async () => (await openConnections()).length === 0, {
      timeoutMs: 10_000,
    });

    const ac = new AbortController();
    const pull = pullOverSftp(src, stalled, MAX, { signal: ac.signal });
    await waitFor('the second pull to connect', () => accepted() === before + 2, { timeoutMs: 20_000 });
    expect((await openConnections()).length).toBe(1); // the probe sees a live connection
    ac.abort();
    const aborted = await failure(pull);
    expect(aborted.reason).toBe('aborted');
    expect(aborted.message).toBe(`root@${sshd.host}:${sshd.port}: pulling ${fifo} aborted`);
    await waitFor('the aborted connection closed', async () => (await openConnections()).length === 0, {
      timeoutMs: 10_000,
    });

    // Already aborted: no connection at all.
    expect((await failure(pullOverSftp(src, sha, MAX, { signal: AbortSignal.abort() }))).reason).toBe('aborted');
    expect(accepted()).toBe(before + 2);
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
        { timeoutMs: 60_000 },
      );
      expect(await readFile(join(target, 'motd'), 'utf8')).toBe('from sftp\n');
    } finally {
      await pool.cleanup();
    }
  });
});
