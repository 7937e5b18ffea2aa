import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImdsError, readIdentity } from '../agent/membership/binding-imds.ts';
import { bindingSources, ownIdentity } from '../agent/membership/binding-sources.ts';
import { parseEc2Using } from '../shared/config/ec2-schema.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';
import { decodeMessage, encodeMessage } from '../shared/wire/codec.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';

/**
 * EC2 binding end to end without AWS: an IMDSv2 stub on loopback serves an identity document
 * signed with a test key (as IMDS serves AWS's); the agent-side reader fetches it, the record
 * carries it through the wire codec, and the verifier built from the pool definition (the test
 * key's public half as `identityCertificate`) binds the member — or refuses a copy under another
 * instance id.
 */

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const certificate = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const document = JSON.stringify(
  { instanceId: 'i-0123456789abcdef0', region: 'eu-west-1', accountId: '123456789012' },
  null,
  2,
);
const signature = sign('sha256', Buffer.from(document), privateKey).toString('base64');

/** IMDSv2: a token from PUT /latest/api/token, required on every GET. */
function imdsStub(): Server {
  return createServer((req, res) => {
    if (req.method === 'PUT' && req.url === '/latest/api/token') return void res.end('tok-1');
    if (req.headers['x-aws-ec2-metadata-token'] !== 'tok-1') {
      res.statusCode = 401;
      return void res.end();
    }
    if (req.url === '/latest/dynamic/instance-identity/document') return void res.end(document);
    if (req.url === '/latest/dynamic/instance-identity/signature') return void res.end(`${signature}\n`);
    res.statusCode = 404;
    res.end();
  });
}

function config(cloud: string, certificate?: string, accountId?: string): AgentConfig {
  const using = {
    provider: 'ec2',
    region: 'eu-west-1',
    ...(certificate ? { identityCertificate: certificate } : {}),
    ...(accountId ? { accountId } : {}),
  };
  return {
    pool: 'p',
    cloud,
    instanceId: 'i-0123456789abcdef0',
    scaling: { definition: { name: 'p', clouds: { web: { using } } }, stateDir: '/nonexistent' },
  } as unknown as AgentConfig;
}

describe('EC2 identity documents (IMDS stub, wire, verifier)', () => {
  let server: Server;
  let endpoint: string;

  beforeAll(async () => {
    server = imdsStub();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('reads the document and signature over IMDSv2, carries them through the codec, and binds the member', async () => {
    const identity = await readIdentity(endpoint);
    expect(identity).toEqual({ document, signature });
    const record: Heartbeat = {
      v: 2,
      type: 'heartbeat',
      peerId: 'P1',
      instanceId: 'i-0123456789abcdef0',
      cloud: 'web',
      addrs: [],
      monitor: '',
      startedAt: 1,
      seq: 1,
      version: '0',
      metrics: {},
      identity,
    };
    const decoded = decodeMessage(encodeMessage(record), 256 * 1024);
    if (!decoded.ok) throw new Error(decoded.detail);
    const got = decoded.msg as Heartbeat;
    expect(got.identity).toEqual(identity);

    const source = bindingSources(config('web', certificate), { peerId: 'SELF' })('web');
    expect(source?.name).toBe('ec2-identity');
    const claim = { peerId: got.peerId, instanceId: got.instanceId, cloud: got.cloud, identity: got.identity };
    expect(source?.check(claim)).toEqual({ kind: 'bound', by: 'ec2-identity' });
    expect(source?.check({ ...claim, instanceId: 'i-0fffffffffffffff0' })).toMatchObject({ reason: 'bad-evidence' });
  });

  it("pins the account when the cloud names one: AWS's regional key signs every account's documents", () => {
    const claim = { peerId: 'P1', instanceId: 'i-0123456789abcdef0', cloud: 'web', identity: { document, signature } };
    const pinned = (account: string) => bindingSources(config('web', certificate, account), { peerId: 'SELF' })('web');
    expect(pinned('123456789012')?.check(claim)).toEqual({ kind: 'bound', by: 'ec2-identity' });
    expect(pinned('210987654321')?.check(claim)).toMatchObject({ kind: 'unbound', reason: 'bad-evidence' });
    const using = { provider: 'ec2', imageId: 'ami-0123456789abcdef0', instanceType: 't3.small' } as const;
    expect(() => parseEc2Using({ ...using, accountId: '1234' })).toThrow(/12-digit/);
    expect(parseEc2Using({ ...using, accountId: '123456789012' }).accountId).toBe('123456789012');
  });

  it('warns once per unchecked cloud when the sources are built (agent start)', () => {
    const warned: Record<string, unknown>[] = [];
    bindingSources(config('web'), { peerId: 'SELF' }, (msg, fields) => warned.push({ msg, ...fields }));
    expect(warned).toEqual([
      { msg: 'binding-unchecked', cloud: 'web', provider: 'ec2', why: 'the cloud names no identityCertificate' },
    ]);
    warned.length = 0;
    bindingSources(config('web', certificate), { peerId: 'SELF' }, (msg, fields) => warned.push({ msg, ...fields }));
    expect(warned).toEqual([]);
  });

  it('the codec refuses an oversized or malformed identity', () => {
    const base = { v: 2, type: 'heartbeat', peerId: 'P', instanceId: 'i', cloud: 'web', addrs: [], monitor: '' };
    const rest = { startedAt: 1, seq: 1, version: '0', metrics: {} };
    for (const identity of [{ document: 'x'.repeat(5000), signature: 's' }, { document: 'd' }, 'doc']) {
      const r = decodeMessage(encodeMessage({ ...base, ...rest, identity } as unknown as Heartbeat), 256 * 1024);
      expect(r.ok).toBe(false);
    }
  });

  it('only an EC2 member of a cloud with a certificate reads its own document; others are unchecked', async () => {
    expect(ownIdentity(config('web'), () => undefined)).toBeUndefined();
    expect(bindingSources(config('web'), { peerId: 'SELF' })('web')).toBeUndefined();
    expect(
      bindingSources(config('web', certificate), { peerId: 'SELF' })('nope')?.check({
        peerId: 'X',
        instanceId: 'i',
        cloud: 'nope',
      }),
    ).toMatchObject({ kind: 'unbound', reason: 'no-instance' });
    const own = ownIdentity(config('web', certificate), () => undefined);
    expect(own).toBeDefined();
    await expect(readIdentity('http://127.0.0.1:1', 500)).rejects.toBeInstanceOf(ImdsError);
  });
});
