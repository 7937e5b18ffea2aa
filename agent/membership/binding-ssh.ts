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
 * gossip is signed by another peer id. What it does not prove is that the host still runs:
 * certificates do not expire; a terminated host's old peer key is deleted with its data dir.
 */

export interface LauncherCertificateOptions {
  /** The launcher's public key, SPKI PEM (ed25519). */
  publicKey: string;
  /** The pool the certificate must name: one launcher key may sign for several pools. */
  pool: string;
}

export function launcherCertificateSource(opts: LauncherCertificateOptions): BindingSource {
  const key = launcherPublicKey(opts.publicKey);
  return { name: 'launcher-certificate', check: (claim) => checkCertificate(claim, key, opts.pool) };
}

/** The launcher's public key, refused unless it is ed25519 (the only kind the CLI creates). */
export function launcherPublicKey(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`the launcher public key is ${key.asymmetricKeyType ?? 'of no known type'}, not ed25519`);
  return key;
}

/** The verdict on one claim (pure but for the signature check). */
export function checkCertificate(claim: Claim, key: KeyObject, pool: string): Verdict {
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
  return { kind: 'bound', by: 'launcher-certificate' };
}

function signatureHolds(document: string, signature: string, key: KeyObject): boolean {
  if (document.length > IDENTITY_LIMITS.document || signature.length > IDENTITY_LIMITS.signature) return false;
  try {
    return verify(null, Buffer.from(document, 'utf8'), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
