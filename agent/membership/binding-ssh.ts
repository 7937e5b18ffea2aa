import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { IDENTITY_LIMITS } from '../../shared/wire/heartbeat.ts';
import { parseCertificateDocument } from '../../shared/wire/launcher-certificate.ts';
import type { BindingSource, Claim, Verdict } from './binding.ts';

/**
 * ssh clouds as a binding source: the CLI that provisions an ssh host signs a launcher
 * certificate (pool, cloud, instance, peer id) with the pool's launcher key, an ed25519 key that
 * never leaves the CLI's state dir; the agent carries it in its record (`identity`, as EC2
 * members carry their identity document). Every agent holds the launcher's public key and checks
 * that the certificate verifies and names exactly the claim.
 *
 * The certificate names the peer id, so copying it from a record gains nothing: the copier's
 * gossip is signed by another peer id. What it does not prove is that the host still runs, so it
 * carries a validity window: refused before `issuedAt` (less the allowed clock skew) and from
 * `expiresAt` on, so a leaked certificate and peer key stop working by themselves. A bound
 * verdict says until when it holds, and is checked again then.
 */

/** How far a host's clock may be behind the CLI's that signed a certificate (ms). */
export const CERTIFICATE_CLOCK_SKEW = 5 * 60_000;

export interface LauncherCertificateOptions {
  /** The launcher's public key, SPKI PEM (ed25519). */
  publicKey: string;
  /** The pool the certificate must name: one launcher key may sign for several pools. */
  pool: string;
  /** The clock the validity window is checked against (epoch ms). */
  now?: () => number;
}

export function launcherCertificateSource(opts: LauncherCertificateOptions): BindingSource {
  const key = launcherPublicKey(opts.publicKey);
  const now = opts.now ?? Date.now;
  return { name: 'launcher-certificate', check: (claim) => checkCertificate(claim, key, opts.pool, now()) };
}

/** The launcher's public key, refused unless it is ed25519 (the only kind the CLI creates). */
export function launcherPublicKey(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`the launcher public key is ${key.asymmetricKeyType ?? 'of no known type'}, not ed25519`);
  return key;
}

/** The verdict on one claim at `now` (pure but for the signature check). */
export function checkCertificate(claim: Claim, key: KeyObject, pool: string, now: number): Verdict {
  const bad = (detail: string): Verdict => ({ kind: 'unbound', reason: 'bad-evidence', detail });
  const about = `${claim.instanceId} (peer ${claim.peerId})`;
  const cert = claim.identity;
  if (!cert) return bad(`${about} sent no launcher certificate`);
  if (!signatureHolds(cert.document, cert.signature, key))
    return bad(`the certificate of ${about} is not signed by the pool's launcher`);
  const c = parseCertificateDocument(cert.document);
  if (!c) return bad(`the certificate of ${about} is not a launcher certificate`);
  if (c.pool !== pool) return bad(`the certificate of ${about} is for pool ${c.pool}`);
  if (c.peerId !== claim.peerId) return bad(`the certificate of ${claim.instanceId} names peer ${c.peerId}`);
  if (c.instanceId !== claim.instanceId || c.cloud !== claim.cloud)
    return bad(`the certificate of peer ${claim.peerId} names ${c.instanceId} in cloud ${c.cloud}`);
  if (now >= c.expiresAt)
    return bad(`the certificate of ${about} expired at ${new Date(c.expiresAt).toISOString()}: re-provision the host`);
  if (now < c.issuedAt - CERTIFICATE_CLOCK_SKEW)
    return bad(`the certificate of ${about} is dated ${new Date(c.issuedAt).toISOString()}, in the future`);
  return { kind: 'bound', by: 'launcher-certificate', until: c.expiresAt };
}

function signatureHolds(document: string, signature: string, key: KeyObject): boolean {
  if (document.length > IDENTITY_LIMITS.document || signature.length > IDENTITY_LIMITS.signature) return false;
  try {
    return verify(null, Buffer.from(document, 'utf8'), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
