import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from '../shared/bundle/build.ts';
import {
  BundleFormatError,
  BundleHashMismatchError,
  BundleTargetExistsError,
  BundleTooLargeError,
  UnsafeArchiveError,
} from '../shared/bundle/errors.ts';
import { type TarEntry, writeTar } from '../shared/bundle/tar.ts';
import { unpackBundle } from '../shared/bundle/unpack.ts';
import { configureSchema } from '../shared/config/configure-schema.ts';
import { exec, file, template } from '../shared/resources/index.ts';
import { tarEntries } from './helpers/tar.ts';

/** Safe unpacking: the hash is checked first, hostile entries are refused, the target stays untouched. */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-unpack-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function build() {
  const configure = configureSchema.parse({
    resources: [
      file('/etc/motd', { content: 'hi\n' }),
      template('/etc/t', { inline: '{{ x }}', variables: { x: 1 } }),
      exec('e', { command: 'true' }),
    ],
  });
  return buildBundle({ pool: 'p', cloud: 'c', definition: { a: 1 }, configure, baseDir: dir });
}

/** A gzipped tar with the given raw entries, and its sha256. */
function archive(entries: TarEntry[]): { bytes: Buffer; sha256: string } {
  const bytes = gzipSync(writeTar(entries));
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(root, p));
      out.push(`${p} ${st.isSymbolicLink() ? `-> ${await readlink(join(root, p))}` : (st.mode & 0o777).toString(8)}`);
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk('');
  return out;
}

describe('unpackBundle', () => {
  it('round-trips a bundle into a fresh directory', async () => {
    const b = await build();
    const target = join(dir, 'unpacked', b.sha256);
    const result = await unpackBundle(b.bytes, b.sha256, target);
    expect(result.dir).toBe(target);
    expect(await readFile(join(target, 'cookbooks/poolparty/recipes/default.rb'), 'utf8')).toBe(b.recipe);
    expect(await listTree(target)).toContain('manifests/site.pp 644');
    await expect(unpackBundle(b.bytes, b.sha256, target)).rejects.toThrow(BundleTargetExistsError);
  });

  it('checks the hash before anything else: a tampered bundle leaves the target untouched', async () => {
    const b = await build();
    const tampered = Buffer.from(b.bytes);
    tampered[tampered.length - 20] = (tampered[tampered.length - 20] as number) ^ 0xff;
    const target = join(dir, 'tampered');
    await expect(unpackBundle(tampered, b.sha256, target)).rejects.toThrow(BundleHashMismatchError);
    await expect(lstat(target)).rejects.toThrow(/ENOENT/);
    // Not gzip at all, but with its own correct hash: a format error, still nothing written.
    const junk = Buffer.from('not a bundle');
    await expect(unpackBundle(junk, createHash('sha256').update(junk).digest('hex'), target)).rejects.toThrow(
      BundleFormatError,
    );
    expect(await readdir(dir)).not.toContain('tampered');
  });

  const hostile: [string, TarEntry[], RegExp][] = [
    [
      'a .. path',
      [
        { path: 'ok', type: 'file', mode: 0o644, data: Buffer.from('x') },
        { path: '../evil', type: 'file', mode: 0o644, data: Buffer.from('x') },
      ],
      /'\.\.' in path/,
    ],
    ['a nested .. path', [{ path: 'a/../../evil', type: 'file', mode: 0o644 }], /'\.\.' in path/],
    ['an absolute path', [{ path: '/tmp/evil', type: 'file', mode: 0o644 }], /absolute path/],
    ['an escaping symlink', [{ path: 'l', type: 'symlink', mode: 0o777, linkname: '../../etc' }], /escapes the bundle/],
    ['an absolute symlink', [{ path: 'l', type: 'symlink', mode: 0o777, linkname: '/etc' }], /escapes the bundle/],
    [
      'a file beneath a symlink',
      [
        { path: 'l', type: 'symlink', mode: 0o777, linkname: 'd' },
        { path: 'l/passwd', type: 'file', mode: 0o644, data: Buffer.from('x') },
      ],
      /beneath the link l/,
    ],
    ['a hard link', [{ path: 'h', type: 'hardlink', mode: 0o644, linkname: 'x' }], /hard links/],
    ['a device', [{ path: 'dev', type: 'other', typeflag: '3', mode: 0o644 }], /entry type '3'/],
    ['a fifo', [{ path: 'fifo', type: 'other', typeflag: '6', mode: 0o644 }], /entry type '6'/],
    [
      'a duplicate',
      [
        { path: 'a', type: 'file', mode: 0o644 },
        { path: './a', type: 'file', mode: 0o644 },
      ],
      /appears twice/,
    ],
  ];
  for (const [what, entries, message] of hostile) {
    it(`rejects ${what} before writing anything`, async () => {
      const { bytes, sha256 } = archive(entries);
      const target = join(dir, 'hostile', 'target');
      await expect(unpackBundle(bytes, sha256, target)).rejects.toThrow(UnsafeArchiveError);
      await expect(unpackBundle(bytes, sha256, target)).rejects.toThrow(message);
      await expect(lstat(target)).rejects.toThrow(/ENOENT/);
      await expect(lstat(join(dir, 'evil'))).rejects.toThrow(/ENOENT/);
      // No temp directory left behind either.
      expect((await readdir(join(dir, 'hostile')).catch(() => [])).length).toBe(0);
    });
  }

  it('rejects a path-traversal archive made by system tar', async () => {
    const src = join(dir, 'systar', 'inner');
    await mkdir(src, { recursive: true });
    await writeFile(join(dir, 'systar', 'escape.txt'), 'x');
    const tgz = join(dir, 'systar.tgz');
    execFileSync('tar', ['-czf', tgz, '-C', src, '--absolute-names', '../escape.txt']);
    const bytes = await readFile(tgz);
    const target = join(dir, 'systar-target');
    await expect(unpackBundle(bytes, createHash('sha256').update(bytes).digest('hex'), target)).rejects.toThrow(
      UnsafeArchiveError,
    );
    await expect(lstat(target)).rejects.toThrow(/ENOENT/);
  });

  it('keeps inside links, and enforces the size limit', async () => {
    const ok = archive([
      { path: 'd', type: 'directory', mode: 0o755 },
      { path: 'd/f', type: 'file', mode: 0o640, data: Buffer.from('data') },
      { path: 'd/l', type: 'symlink', mode: 0o777, linkname: 'f' },
    ]);
    const target = join(dir, 'links');
    await unpackBundle(ok.bytes, ok.sha256, target);
    expect(await listTree(target)).toEqual(['d 755', 'd/f 640', 'd/l -> f']);
    const big = archive([{ path: 'zeros', type: 'file', mode: 0o644, data: Buffer.alloc(1024 * 1024) }]);
    await expect(unpackBundle(big.bytes, big.sha256, join(dir, 'big'), { maxBytes: 64 * 1024 })).rejects.toThrow(
      BundleTooLargeError,
    );
  });

  it('checks entries as they stream: a link arriving after a file beneath it is refused too', async () => {
    const { bytes, sha256 } = archive([
      { path: 'l/passwd', type: 'file', mode: 0o644, data: Buffer.from('x') },
      { path: 'l', type: 'symlink', mode: 0o777, linkname: 'd' },
    ]);
    const target = join(dir, 'late-link', 'target');
    await expect(unpackBundle(bytes, sha256, target)).rejects.toThrow('l/passwd: lies beneath the link l');
    expect(await readdir(join(dir, 'late-link'))).toEqual([]);
  });

  it('stops at the entry limit and leaves nothing behind', async () => {
    const entries: TarEntry[] = Array.from({ length: 5 }, (_, i) => ({ path: `f${i}`, type: 'file', mode: 0o644 }));
    const { bytes, sha256 } = archive(entries);
    const target = join(dir, 'many', 'target');
    await expect(unpackBundle(bytes, sha256, target, { maxEntries: 4 })).rejects.toThrow(
      'bundle has more than 4 entries',
    );
    expect(await readdir(join(dir, 'many'))).toEqual([]);
    await unpackBundle(bytes, sha256, target, { maxEntries: 5 });
    expect(await readdir(target)).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
  });

  it('stops inflating a gzip bomb at the byte limit', async () => {
    // 16 MiB of zeros compress to about 16 KiB; the limit is hit long before they are inflated.
    const bomb = archive([{ path: 'zeros', type: 'file', mode: 0o644, data: Buffer.alloc(16 * 1024 * 1024) }]);
    const target = join(dir, 'bomb', 'target');
    await expect(unpackBundle(bomb.bytes, bomb.sha256, target, { maxBytes: 1024 * 1024 })).rejects.toThrow(
      'bundle unpacks to more than 1048576 bytes',
    );
    expect(await readdir(join(dir, 'bomb'))).toEqual([]);
  });

  it('refuses a corrupt tar in a valid gzip, and a truncated gzip, as format errors', async () => {
    const hashed = (bytes: Buffer) => ({ bytes, sha256: createHash('sha256').update(bytes).digest('hex') });
    const notTar = hashed(gzipSync(Buffer.alloc(2048, 'x')));
    await expect(unpackBundle(notTar.bytes, notTar.sha256, join(dir, 'corrupt'))).rejects.toThrow(
      /^corrupt archive: Invalid tar header/,
    );
    const b = await build();
    const cut = hashed(b.bytes.subarray(0, b.bytes.length - 100));
    await expect(unpackBundle(cut.bytes, cut.sha256, join(dir, 'corrupt'))).rejects.toThrow(BundleFormatError);
    await expect(lstat(join(dir, 'corrupt'))).rejects.toThrow(/ENOENT/);
  });

  it('streams large files to disk intact', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 11)) & 0xff;
    const { bytes, sha256 } = archive([{ path: 'big.bin', type: 'file', mode: 0o600, data }]);
    const target = join(dir, 'large');
    const result = await unpackBundle(bytes, sha256, target);
    expect((await readFile(join(target, 'big.bin'))).equals(data)).toBe(true);
    expect(result).toEqual({
      dir: target,
      entries: 1,
      bytes: writeTar([{ path: 'big.bin', type: 'file', mode: 0o600, data }]).length,
    });
  });

  it('reads long names through the ustar prefix', async () => {
    const long = `${'a'.repeat(90)}/${'b'.repeat(90)}/file.txt`;
    const entries = await tarEntries(
      gzipSync(writeTar([{ path: long, type: 'file', mode: 0o644, data: Buffer.from('x') }])),
    );
    expect(entries.map((e) => e.path)).toEqual([long]);
  });
});
