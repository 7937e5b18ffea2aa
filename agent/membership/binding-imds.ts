import { IDENTITY_LIMITS, type IdentityEvidence } from '../../shared/wire/heartbeat.ts';

/**
 * Reads this instance's identity document and its base64 signature from the EC2 instance
 * metadata service (IMDSv2: a session token first), for the member's record. The endpoint is the
 * AWS SDKs' `AWS_EC2_METADATA_SERVICE_ENDPOINT` when set (tests point it at a stub on loopback).
 */

export const IMDS_DEFAULT_ENDPOINT = 'http://169.254.169.254';

export class ImdsError extends Error {
  override name = 'ImdsError';
}

export async function readIdentity(
  endpoint: string = process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT || IMDS_DEFAULT_ENDPOINT,
  timeoutMs = 2000,
): Promise<IdentityEvidence> {
  const base = endpoint.replace(/\/+$/, '');
  const token = await text(`${base}/latest/api/token`, timeoutMs, {
    method: 'PUT',
    headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '300' },
  });
  const headers = { 'X-aws-ec2-metadata-token': token };
  const document = await text(`${base}/latest/dynamic/instance-identity/document`, timeoutMs, { headers });
  const signature = (await text(`${base}/latest/dynamic/instance-identity/signature`, timeoutMs, { headers })).trim();
  if (document.length > IDENTITY_LIMITS.document || signature.length > IDENTITY_LIMITS.signature)
    throw new ImdsError('the identity document or its signature is larger than a record carries');
  return { document, signature };
}

async function text(url: string, timeoutMs: number, init: RequestInit): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new ImdsError(`${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new ImdsError(`${url}: HTTP ${res.status}`);
  return res.text();
}

/** How often a failed read of the identity document is tried again (ms). */
const RETRY_MS = 10_000;

/**
 * This member's own identity evidence, read once at start and retried until it is had (IMDS can
 * be slow to answer right after boot). Until then the member's record carries none, and verifiers
 * hold it unbound.
 */
export class OwnIdentity {
  #current: IdentityEvidence | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(
    private readonly read: () => Promise<IdentityEvidence>,
    private readonly log: (msg: string, fields: Record<string, unknown>) => void,
  ) {}

  /**
   * Evidence known before start (an ssh agent's launcher certificate, from its config): in the
   * very first record, so verifiers never see this member without it.
   */
  static fixed(evidence: IdentityEvidence): OwnIdentity {
    const own = new OwnIdentity(
      () => Promise.resolve(evidence),
      () => undefined,
    );
    own.#current = evidence;
    return own;
  }

  get current(): IdentityEvidence | undefined {
    return this.#current;
  }

  start(): void {
    this.#running = true;
    void this.#attempt();
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
  }

  async #attempt(): Promise<void> {
    try {
      this.#current = await this.read();
    } catch (err) {
      this.log('identity-document-unavailable', { error: (err as Error).message });
      if (this.#running) this.#timer = setTimeout(() => void this.#attempt(), RETRY_MS);
    }
  }
}
