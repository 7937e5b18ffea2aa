import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

/**
 * The upgrade manifest: what an agent artifact is (version, sha256, size, when it was built), for
 * which pool, and when the operator issued it, signed with the pool's upgrade key (ed25519,
 * shared/upgrade/key.ts). Agents run an artifact only when the signature verifies with the public
 * key their config carries and the bytes match the signed hash and size. Pure: no I/O, and every
 * check of untrusted input returns a verdict instead of throwing.
 */
export interface UpgradeManifest {
  /** The pool the artifact is for: a manifest signed for another pool is refused. */
  pool: string;
  /** The agent version the artifact reports (its heartbeat and /health `version`). */
  version: string;
  /** sha256 (hex) of the artifact's bytes. */
  sha256: string;
  /** The artifact's size (bytes). */
  size: number;
  /** When it was built (epoch ms). */
  builtAt: number;
  /** When the operator signed it (epoch ms). */
  issuedAt: number;
}

export interface SignedManifest {
  manifest: UpgradeManifest;
  /** base64 ed25519 signature over manifestDocument(manifest). */
  signature: string;
}

export type ManifestRefusal =
  | 'unsigned'
  | 'malformed'
  | 'bad-signature'
  | 'wrong-pool'
  | 'size-mismatch'
  | 'hash-mismatch';

export type ArtifactVerdict =
  | { ok: true; manifest: UpgradeManifest }
  | { ok: false; reason: ManifestRefusal; detail: string };

/** Limits on what a manifest may hold: the document stays small and every number a safe integer. */
export const MANIFEST_LIMITS = { text: 200, signature: 200, maxSize: 512 * 1024 * 1024 } as const;

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * The signed bytes: a fixed prefix (a signature over any other document of the same key means
 * nothing here), then each field in a fixed order, one per line.
 */
export function manifestDocument(m: UpgradeManifest): string {
  return [
    'poolparty-upgrade-manifest/1',
    `pool=${m.pool}`,
    `version=${m.version}`,
    `sha256=${m.sha256}`,
    `size=${m.size}`,
    `builtAt=${m.builtAt}`,
    `issuedAt=${m.issuedAt}`,
  ].join('\n');
}

export function signManifest(manifest: UpgradeManifest, privateKey: KeyObject): SignedManifest {
  const signature = sign(null, Buffer.from(manifestDocument(manifest), 'utf8'), privateKey).toString('base64');
  return { manifest: { ...manifest }, signature };
}

/** The manifest of `bytes` as the CLI signs it. */
export function describeArtifact(
  bytes: Uint8Array,
  o: { pool: string; version: string; builtAt: number; issuedAt: number },
): UpgradeManifest {
  return { ...o, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
}

/** Reads a signed manifest from untrusted JSON; a reason instead of a manifest when it is not one. */
export function parseSignedManifest(
  value: unknown,
): { ok: true; signed: SignedManifest } | { ok: false; detail: string } {
  if (!isObject(value)) return { ok: false, detail: 'expected an object' };
  const { manifest: m, signature } = value;
  if (!isObject(m)) return { ok: false, detail: 'manifest: expected an object' };
  if (typeof signature !== 'string' || signature.length === 0 || signature.length > MANIFEST_LIMITS.signature)
    return { ok: false, detail: 'signature: expected a base64 string' };
  for (const key of ['pool', 'version'] as const) {
    const v = m[key];
    if (typeof v !== 'string' || v.length === 0 || v.length > MANIFEST_LIMITS.text || /[\n\r]/.test(v))
      return { ok: false, detail: `manifest.${key}: expected a one-line string` };
  }
  if (typeof m.sha256 !== 'string' || !SHA256.test(m.sha256))
    return { ok: false, detail: 'manifest.sha256: expected a hex digest' };
  for (const key of ['size', 'builtAt', 'issuedAt'] as const) {
    const v = m[key];
    if (!Number.isSafeInteger(v) || (v as number) < 0)
      return { ok: false, detail: `manifest.${key}: expected a count` };
  }
  if ((m.size as number) > MANIFEST_LIMITS.maxSize)
    return { ok: false, detail: `manifest.size: above ${MANIFEST_LIMITS.maxSize} bytes` };
  const manifest: UpgradeManifest = {
    pool: m.pool as string,
    version: m.version as string,
    sha256: m.sha256,
    size: m.size as number,
    builtAt: m.builtAt as number,
    issuedAt: m.issuedAt as number,
  };
  return { ok: true, signed: { manifest, signature } };
}

/** Whether the signature over the manifest verifies with the pool's upgrade public key (SPKI PEM). */
export function verifyManifest(signed: SignedManifest, publicKeyPem: string, pool: string): ArtifactVerdict {
  let key: KeyObject;
  try {
    key = createPublicKey(publicKeyPem);
  } catch (err) {
    return {
      ok: false,
      reason: 'bad-signature',
      detail: `the configured upgrade key is unusable: ${(err as Error).message}`,
    };
  }
  const good = verify(
    null,
    Buffer.from(manifestDocument(signed.manifest), 'utf8'),
    key,
    Buffer.from(signed.signature, 'base64'),
  );
  if (!good)
    return { ok: false, reason: 'bad-signature', detail: 'the manifest is not signed by the pool upgrade key' };
  if (signed.manifest.pool !== pool)
    return {
      ok: false,
      reason: 'wrong-pool',
      detail: `the manifest is for pool '${signed.manifest.pool}', not '${pool}'`,
    };
  return { ok: true, manifest: signed.manifest };
}

/**
 * The whole check an agent makes before it stores or runs an artifact: a manifest is present and
 * well formed, signed by the pool's upgrade key for this pool, and the bytes are the ones signed.
 */
export function verifyArtifact(
  bytes: Uint8Array,
  signed: unknown,
  publicKeyPem: string,
  pool: string,
): ArtifactVerdict {
  if (signed === undefined || signed === null) return { ok: false, reason: 'unsigned', detail: 'no signed manifest' };
  const parsed = parseSignedManifest(signed);
  if (!parsed.ok) return { ok: false, reason: 'malformed', detail: parsed.detail };
  const verdict = verifyManifest(parsed.signed, publicKeyPem, pool);
  if (!verdict.ok) return verdict;
  const m = verdict.manifest;
  if (bytes.length !== m.size)
    return {
      ok: false,
      reason: 'size-mismatch',
      detail: `the artifact has ${bytes.length} bytes, the manifest says ${m.size}`,
    };
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== m.sha256)
    return {
      ok: false,
      reason: 'hash-mismatch',
      detail: `the artifact's sha256 is ${actual}, the manifest says ${m.sha256}`,
    };
  return verdict;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
