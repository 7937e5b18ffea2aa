import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureUpgradeKey, readUpgradeKey, UpgradeKeyError, upgradeKeyFile } from '../shared/upgrade/key.ts';
import {
  describeArtifact,
  manifestDocument,
  parseSignedManifest,
  signManifest,
  verifyArtifact,
} from '../shared/upgrade/manifest.ts';

const POOL = 'upgrade-test';
const pair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
};
const key = pair();
const bytes = randomBytes(4096);
const signed = signManifest(
  describeArtifact(bytes, { pool: POOL, version: '0.2.0', builtAt: 1_700_000_000_000, issuedAt: 1_700_000_100_000 }),
  key.privateKey,
);

describe('artifact manifest verify (pure)', () => {
  it('accepts the signed bytes, and names the version, hash and size it verified', () => {
    const v = verifyArtifact(bytes, signed, key.publicKeyPem, POOL);
    expect(v.ok).toBe(true);
    if (v.ok) expect(v.manifest).toMatchObject({ version: '0.2.0', size: 4096, pool: POOL });
  });

  it('refuses tampered bytes: one flipped byte, a truncated or an extended artifact', () => {
    const flipped = Buffer.from(bytes);
    flipped[2000] = (flipped[2000] ?? 0) ^ 1;
    expect(verifyArtifact(flipped, signed, key.publicKeyPem, POOL)).toMatchObject({
      ok: false,
      reason: 'hash-mismatch',
    });
    expect(verifyArtifact(bytes.subarray(1), signed, key.publicKeyPem, POOL)).toMatchObject({
      ok: false,
      reason: 'size-mismatch',
    });
    expect(verifyArtifact(Buffer.concat([bytes, Buffer.from('x')]), signed, key.publicKeyPem, POOL)).toMatchObject({
      ok: false,
      reason: 'size-mismatch',
    });
  });

  it('refuses a manifest signed by another key, or edited after signing to name other bytes', () => {
    const other = pair();
    expect(verifyArtifact(bytes, signed, other.publicKeyPem, POOL)).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    const evil = randomBytes(4096);
    const edited = { ...signed, manifest: describeArtifact(evil, { ...signed.manifest }) };
    expect(verifyArtifact(evil, edited, key.publicKeyPem, POOL)).toMatchObject({ ok: false, reason: 'bad-signature' });
    // A manifest the outsider signed with its own key for its own bytes: still not the pool's key.
    const forged = signManifest(describeArtifact(evil, { ...signed.manifest }), other.privateKey);
    expect(verifyArtifact(evil, forged, key.publicKeyPem, POOL)).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('refuses an unsigned artifact, a malformed manifest, and one signed for another pool', () => {
    expect(verifyArtifact(bytes, undefined, key.publicKeyPem, POOL)).toMatchObject({ ok: false, reason: 'unsigned' });
    expect(verifyArtifact(bytes, { manifest: signed.manifest }, key.publicKeyPem, POOL)).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
    expect(
      verifyArtifact(bytes, { ...signed, manifest: { ...signed.manifest, size: -1 } }, key.publicKeyPem, POOL),
    ).toMatchObject({ ok: false, reason: 'malformed' });
    const otherPool = signManifest({ ...signed.manifest, pool: 'elsewhere' }, key.privateKey);
    expect(verifyArtifact(bytes, otherPool, key.publicKeyPem, POOL)).toMatchObject({ ok: false, reason: 'wrong-pool' });
  });

  it('never throws on hostile input: each bad shape is a one-line reason naming the field', () => {
    for (const bad of [null, 1, 'x', [], { manifest: 1, signature: 'a' }, { manifest: {}, signature: '' }]) {
      const r = parseSignedManifest(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.detail).not.toContain('\n');
    }
    const newline = parseSignedManifest({ ...signed, manifest: { ...signed.manifest, version: '1\nsize=1' } });
    expect(newline).toEqual({ ok: false, detail: 'manifest.version: expected a one-line string' });
  });

  it('signs a document that fixes every field, so no field can move into another', () => {
    const doc = manifestDocument(signed.manifest);
    expect(doc.split('\n')).toEqual([
      'poolparty-upgrade-manifest/1',
      `pool=${POOL}`,
      'version=0.2.0',
      `sha256=${signed.manifest.sha256}`,
      'size=4096',
      'builtAt=1700000000000',
      'issuedAt=1700000100000',
    ]);
  });
});

describe('upgrade key (CLI state dir)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('is created once, 0600, and read back the same by every later or concurrent caller', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pp-upgrade-key-'));
    dirs.push(dir);
    const all = await Promise.all([1, 2, 3].map(() => ensureUpgradeKey(dir)));
    expect(new Set(all.map((k) => k.publicKeyPem)).size).toBe(1);
    expect((await stat(upgradeKeyFile(dir))).mode & 0o777).toBe(0o600);
    expect((await readUpgradeKey(dir)).publicKeyPem).toBe(all[0]?.publicKeyPem);
    expect(await readFile(upgradeKeyFile(dir), 'utf8')).toContain('BEGIN PRIVATE KEY');
    const s = signManifest(describeArtifact(bytes, { ...signed.manifest }), (await readUpgradeKey(dir)).privateKey);
    expect(verifyArtifact(bytes, s, all[0]?.publicKeyPem ?? '', POOL).ok).toBe(true);
  });

  it('reading a pool without one is an error naming the file; a non-ed25519 key is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pp-upgrade-key-'));
    dirs.push(dir);
    await expect(readUpgradeKey(dir)).rejects.toThrow(`${upgradeKeyFile(dir)} does not exist`);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    await writeFile(upgradeKeyFile(dir), rsa);
    await expect(ensureUpgradeKey(dir)).rejects.toBeInstanceOf(UpgradeKeyError);
  });
});
