import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { VsphereClient } from '../../shared/remoter/vsphere-client.ts';
import type { SoapTransport } from '../../shared/remoter/vsphere-transport.ts';
import { parseBody } from '../../shared/remoter/vsphere-xml.ts';

/**
 * govmomi's vSphere simulator for one test file: built (cached) by scripts/build-vcsim.sh, started
 * on 127.0.0.1 with a free port of its own choosing, https with a self-signed certificate. The
 * inventory is vcsim's VPX model: DC0, cluster DC0_C0, hosts, VMs such as DC0_H0_VM0.
 */

export interface Simulator {
  /** https://127.0.0.1:PORT/sdk, without user info. */
  url: string;
  user: string;
  password: string;
  /** SHA-1 fingerprint of its certificate, 'AB:CD:…'. */
  sha1: string;
  sha256: string;
  /** A client of its own (insecure TLS), for tests to look behind the remoter's back. */
  client(): VsphereClient;
  close(): Promise<void>;
}

const run = promisify(execFile);

export async function startSimulator(): Promise<Simulator> {
  const { stdout } = await run('sh', ['scripts/build-vcsim.sh'], { maxBuffer: 1 << 20 });
  const bin = stdout.trim().split('\n').at(-1) as string;
  const child = spawn(bin, ['-l', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const line = await firstLine(child);
  const parsed = new URL(line);
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const url = parsed.toString();
  const cert = await peerCertificate(parsed);
  const clients: VsphereClient[] = [];
  return {
    url,
    user,
    password,
    ...cert,
    client() {
      const c = new VsphereClient({ url, user, password, tls: { insecure: true }, taskPollMs: 20 });
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      if (child.exitCode !== null || child.signalCode) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl).trim());
    });
    child.once('exit', (code) => reject(new Error(`vcsim exited with ${code} before listening: ${err.slice(-500)}`)));
  });
}

async function peerCertificate(url: URL): Promise<{ sha1: string; sha256: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      resolve({ sha1: cert.fingerprint, sha256: cert.fingerprint256 });
    });
    socket.once('error', reject);
  });
}

/** The vim25 method a request calls: the Body's only element. */
export function methodOf(body: string): string {
  return Object.keys(parseBody(body)).find((k) => !k.startsWith('@_')) ?? '?';
}

/** Wraps a transport to count calls per method. */
export function counting(send: SoapTransport): { send: SoapTransport; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    send: async (req) => {
      calls.push(methodOf(req.body));
      return send(req);
    },
  };
}
