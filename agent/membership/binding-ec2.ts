import { createPublicKey, type KeyObject, verify, X509Certificate } from 'node:crypto';
import { IDENTITY_LIMITS } from '../../shared/wire/heartbeat.ts';
import type { BindingSource, Claim, IdentityEvidence, Verdict } from './binding.ts';

/**
 * EC2 as a binding source (pure but for the crypto): the member publishes its instance identity
 * document and IMDS's base64 signature of it (`/latest/dynamic/instance-identity/signature`,
 * RSA over SHA-256); the signature must verify against the AWS RSA certificate configured for the
 * region, and the document must name the claimed instance (and the configured region and
 * accounts, when given).
 *
 * A document proves that the instance exists, not which peer runs on it: it can be copied from a
 * member's record. The binding rule therefore lets the first live claimant keep an instance
 * (`bindingVerdict`'s holder); a copier is refused while the real member lives.
 */

export interface Ec2IdentityOptions {
  /** PEM of the AWS RSA certificate for the region (or a test certificate). */
  certificate: string;
  /** The document's region must be this one. */
  region?: string;
  /** The document's accountId must be one of these (unset: any account the certificate signs for). */
  accountIds?: readonly string[];
}

export function ec2IdentitySource(opts: Ec2IdentityOptions): BindingSource {
  const key = publicKeyOf(opts.certificate);
  return {
    name: 'ec2-identity',
    check: (claim) => checkIdentity(claim, key, opts),
  };
}

function publicKeyOf(pem: string): KeyObject {
  try {
    return new X509Certificate(pem).publicKey;
  } catch {
    // A bare public key works as well (tests, or operators who extracted it).
    return createPublicKey(pem);
  }
}

function checkIdentity(claim: Claim, key: KeyObject, opts: Ec2IdentityOptions): Verdict {
  const bad = (detail: string): Verdict => ({ kind: 'unbound', reason: 'bad-evidence', detail });
  const id = claim.identity;
  if (!id) return bad(`${claim.instanceId} (peer ${claim.peerId}) sent no identity document`);
  if (!signatureHolds(id, key)) return bad(`the identity document of ${claim.instanceId} is not signed by AWS`);
  const doc = parseDocument(id.document);
  if (!doc) return bad(`the identity document of ${claim.instanceId} is not a JSON object`);
  if (doc.instanceId !== claim.instanceId)
    return bad(`the identity document names ${String(doc.instanceId)}, not ${claim.instanceId}`);
  if (opts.region !== undefined && doc.region !== opts.region)
    return bad(`the identity document of ${claim.instanceId} is from ${String(doc.region)}, not ${opts.region}`);
  if (opts.accountIds && !opts.accountIds.includes(String(doc.accountId)))
    return bad(`the identity document of ${claim.instanceId} is from another account`);
  return { kind: 'bound', by: 'ec2-identity' };
}

function signatureHolds(id: IdentityEvidence, key: KeyObject): boolean {
  if (id.document.length > IDENTITY_LIMITS.document || id.signature.length > IDENTITY_LIMITS.signature) return false;
  try {
    return verify('sha256', Buffer.from(id.document, 'utf8'), key, Buffer.from(id.signature.trim(), 'base64'));
  } catch {
    return false;
  }
}

function parseDocument(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
