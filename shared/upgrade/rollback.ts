import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { type RollbackRequest, rollbackDocument } from './protocol.ts';

/** A rollback request and its base64 ed25519 signature by the pool's upgrade key. */
export interface SignedRollback {
  request: RollbackRequest;
  signature: string;
}

/**
 * A rollback's name on the event stream and in GET /upgrade: the sha256 of its signed document.
 * Its events carry it where an upgrade's carry the artifact's hash, so the CLI that sent it
 * follows its own rollback's events and no other's.
 */
export function rollbackId(request: RollbackRequest): string {
  return createHash('sha256').update(rollbackDocument(request), 'utf8').digest('hex');
}

/** What a rollback's events name as the version: each member returns to its own previous agent. */
export const ROLLBACK_VERSION = 'previous agent';

/** A rollback request older than this (ms) is refused: a replay must not roll the pool back later. */
export const MAX_ROLLBACK_AGE = 10 * 60_000;

export function signRollback(request: RollbackRequest, privateKey: KeyObject): SignedRollback {
  return {
    request,
    signature: sign(null, Buffer.from(rollbackDocument(request), 'utf8'), privateKey).toString('base64'),
  };
}

/** Whether `value` is a rollback request for `pool` that the upgrade key signed recently. Never throws. */
export function verifyRollback(
  value: unknown,
  publicKeyPem: string,
  pool: string,
  now = Date.now(),
): { ok: true } | { ok: false; detail: string } {
  const v = value as Partial<SignedRollback> | null;
  const r = v?.request;
  if (!r || typeof r.pool !== 'string' || !Number.isSafeInteger(r.issuedAt) || typeof v.signature !== 'string')
    return { ok: false, detail: 'not a signed rollback request' };
  let key: KeyObject;
  try {
    key = createPublicKey(publicKeyPem);
  } catch (err) {
    return { ok: false, detail: `the configured upgrade key is unusable: ${(err as Error).message}` };
  }
  const doc = rollbackDocument({ pool: r.pool, issuedAt: r.issuedAt });
  if (!verify(null, Buffer.from(doc, 'utf8'), key, Buffer.from(v.signature, 'base64')))
    return { ok: false, detail: 'not signed by the pool upgrade key' };
  if (r.pool !== pool) return { ok: false, detail: `signed for pool '${r.pool}', not '${pool}'` };
  if (Math.abs(now - r.issuedAt) > MAX_ROLLBACK_AGE) return { ok: false, detail: 'issued too long ago (or ahead)' };
  return { ok: true };
}
