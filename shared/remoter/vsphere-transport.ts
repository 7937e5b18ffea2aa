import { Agent, request } from 'node:https';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, connect, type PeerCertificate } from 'node:tls';
import { VsphereConnectionError } from './vsphere-errors.ts';

/**
 * POSTs of SOAP envelopes to vCenter over https (node:https: Node 20's fetch takes no TLS options
 * without the undici package). TLS is verified against the system's CAs unless the cloud says
 * `insecure` (nothing checked) or pins a `thumbprint`: then only a server whose certificate has that
 * SHA-1 (what vCenter shows) or SHA-256 fingerprint is sent anything — the check runs when the
 * handshake ends, before the request (and the password in Login) is written.
 */

export interface SoapRequest {
  url: URL;
  body: string;
  headers: Record<string, string>;
}

export interface SoapResponse {
  status: number;
  body: string;
  /** `name=value` of the session cookie the server set, if any. */
  cookie?: string;
}

/** One round trip; tests wrap it (to lose an answer) without touching the client. */
export type SoapTransport = (req: SoapRequest) => Promise<SoapResponse>;

export interface TlsPolicy {
  insecure?: boolean;
  thumbprint?: string;
}

export interface HttpsTransport {
  send: SoapTransport;
  /** Closes kept-alive connections. */
  close(): void;
}

const MAX_ANSWER = 64 * 1024 * 1024;

/** 'AB:CD:…' or 'abcd…' → 'ABCD…'; undefined unless it is 20 or 32 bytes of hex. */
export function normalizeThumbprint(thumbprint: string): string | undefined {
  const hex = thumbprint.replace(/[:\s]/g, '').toUpperCase();
  return /^([0-9A-F]{40}|[0-9A-F]{64})$/.test(hex) ? hex : undefined;
}

function fingerprintOf(cert: PeerCertificate, pin: string): string {
  return (pin.length === 40 ? cert.fingerprint : cert.fingerprint256).replace(/:/g, '').toUpperCase();
}

function agentFor(tls: TlsPolicy): Agent {
  if (tls.thumbprint === undefined) return new Agent({ keepAlive: true, rejectUnauthorized: tls.insecure !== true });
  const pin = normalizeThumbprint(tls.thumbprint);
  if (!pin)
    throw new VsphereConnectionError(
      `thumbprint ${JSON.stringify(tls.thumbprint)} is not a SHA-1 or SHA-256 fingerprint`,
    );
  const agent = new Agent({ keepAlive: true });
  // A socket reaches the request only through the callback, after its certificate matched the pin.
  (agent as unknown as { createConnection: unknown }).createConnection = (
    options: ConnectionOptions,
    done: (err: Error | null, socket?: Duplex) => void,
  ) => {
    const socket = connect({ ...options, rejectUnauthorized: false });
    socket.once('error', (err) => done(err));
    socket.once('secureConnect', () => {
      const got = fingerprintOf(socket.getPeerCertificate(), pin);
      if (got === pin) return done(null, socket);
      socket.destroy();
      done(
        new VsphereConnectionError(`the server's certificate fingerprint ${got} is not the pinned thumbprint ${pin}`),
      );
    });
    return undefined;
  };
  return agent;
}

export function httpsTransport(tls: TlsPolicy, timeoutMs: number): HttpsTransport {
  const agent = agentFor(tls);
  const send: SoapTransport = (req) =>
    new Promise((resolve, reject) => {
      const r = request(
        req.url,
        { method: 'POST', agent, headers: { ...req.headers, 'content-length': Buffer.byteLength(req.body) } },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_ANSWER) res.destroy(new VsphereConnectionError('vSphere answer larger than 64 MiB'));
            else chunks.push(c);
          });
          res.on('error', (err) => reject(wrap(err, req.url)));
          res.on('end', () => {
            const cookie = (res.headers['set-cookie'] ?? [])
              .map((c) => c.split(';')[0]?.trim() ?? '')
              .find((c) => c.startsWith('vmware_soap_session='));
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              ...(cookie ? { cookie } : {}),
            });
          });
        },
      );
      r.setTimeout(timeoutMs, () =>
        r.destroy(new VsphereConnectionError(`no answer from ${req.url.host} in ${timeoutMs} ms`)),
      );
      r.on('error', (err) => reject(wrap(err, req.url)));
      r.end(req.body);
    });
  return { send, close: () => agent.destroy() };
}

function wrap(err: Error, url: URL): Error {
  if (err instanceof VsphereConnectionError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  return new VsphereConnectionError(`cannot reach vSphere at ${url.host}: ${code ? `${code} ` : ''}${err.message}`);
}
