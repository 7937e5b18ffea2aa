/**
 * The launcher certificate's document: what the CLI (the only holder of the pool's launcher key)
 * signs for each agent it provisions on an ssh host, and what every agent checks in a member's
 * record (agent/membership/binding-ssh.ts). Shared so that signer and verifier read one format.
 *
 * It binds a peer id — not just an instance — so, unlike an EC2 identity document, a copied
 * certificate is worth nothing without the named peer's private key (gossip is signed by it).
 */

export interface CertificateClaims {
  pool: string;
  cloud: string;
  instanceId: string;
  peerId: string;
  /** Epoch ms the CLI signed it: the start of the validity window (verifiers allow some clock skew). */
  issuedAt: number;
  /** Epoch ms from which verifiers refuse it: a leaked certificate and peer key stop working by themselves. */
  expiresAt: number;
}

/**
 * Names the format inside the signed bytes, so a signature over any other document never passes
 * as one. /1 had no expiry: such certificates no longer parse, so they are refused.
 */
export const CERTIFICATE_KIND = 'poolparty-launcher-certificate/2';

/** The document's text, fields in a fixed order (the signature covers these exact bytes). */
export function certificateDocument(c: CertificateClaims): string {
  return JSON.stringify({
    kind: CERTIFICATE_KIND,
    pool: c.pool,
    cloud: c.cloud,
    instanceId: c.instanceId,
    peerId: c.peerId,
    issuedAt: c.issuedAt,
    expiresAt: c.expiresAt,
  });
}

/** The claims a document makes, or undefined when it is not a certificate document (never throws). */
export function parseCertificateDocument(text: string): CertificateClaims | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const d = v as Record<string, unknown>;
  const { pool, cloud, instanceId, peerId, issuedAt, expiresAt } = d;
  if (d.kind !== CERTIFICATE_KIND) return undefined;
  if (typeof pool !== 'string' || typeof cloud !== 'string') return undefined;
  if (typeof instanceId !== 'string' || typeof peerId !== 'string') return undefined;
  if (typeof issuedAt !== 'number' || !Number.isSafeInteger(issuedAt)) return undefined;
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt)) return undefined;
  return { pool, cloud, instanceId, peerId, issuedAt, expiresAt };
}
