import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindingVerdict, type Claim, mayChange, takesPart } from '../agent/membership/binding.ts';
import { BindingCache } from '../agent/membership/binding-cache.ts';
import { bindingSources, ownIdentity, RENEW_WARNING } from '../agent/membership/binding-sources.ts';
import {
  CERTIFICATE_CLOCK_SKEW,
  checkCertificate,
  launcherCertificateSource,
  launcherPublicKey,
} from '../agent/membership/binding-ssh.ts';
import { defaultTunables } from '../shared/config/tunables.ts';
import {
  ensureLauncherKey,
  type LauncherKey,
  LauncherKeyError,
  launcherKeyFile,
  mintCertificate,
  withCertificate,
} from '../shared/remoter/ssh-certificate.ts';
import { type AgentConfig, agentConfigSchema } from '../shared/wire/agent-config.ts';
import { decodeMessage, encodeMessage } from '../shared/wire/codec.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';
import { certificateDocument } from '../shared/wire/launcher-certificate.ts';
import { memberRecord } from './helpers/records.ts';

/**
 * ssh binding by launcher certificate: the CLI's key file (created once, 0600), the certificate it
 * mints into an agent's config, the record carrying it through the codec, and the verdict every
 * agent reaches on it — bound only for the exact pool, cloud, instance and peer the CLI signed.
 */

let dir: string;
let key: LauncherKey;
const POOL = 'p';
const ISSUED = 1_700_000_000_000;
const DAY = 86_400_000;
/** How long the configs' certificates below are valid: well beyond RENEW_WARNING from DURING. */
const VALIDITY = 90 * DAY;
const claims = {
  pool: POOL,
  cloud: 'web',
  instanceId: '127.0.0.2',
  peerId: 'P1',
  issuedAt: ISSUED,
  expiresAt: ISSUED + 30 * DAY,
};
/** A moment inside the certificate's validity window. */
const DURING = ISSUED + DAY;
const BOUND = { kind: 'bound', by: 'launcher-certificate', until: claims.expiresAt };
const claim = (over: Partial<Claim> = {}): Claim => ({
  peerId: 'P1',
  instanceId: '127.0.0.2',
  cloud: 'web',
  identity: mintCertificate(key, claims),
  ...over,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolparty-launcher-'));
  key = await ensureLauncherKey(join(dir, 'state'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('launcher key (CLI state dir)', () => {
  it('is created once, 0600, and the same key is read back by every later or concurrent launcher', async () => {
    const stateDir = join(dir, 'fresh');
    const all = await Promise.all([1, 2, 3, 4].map(() => ensureLauncherKey(stateDir)));
    expect(new Set(all.map((k) => k.publicKeyPem)).size).toBe(1);
    expect((await stat(launcherKeyFile(stateDir))).mode & 0o777).toBe(0o600);
    expect((await ensureLauncherKey(stateDir)).publicKeyPem).toBe(all[0]?.publicKeyPem);
    expect(await readFile(launcherKeyFile(stateDir), 'utf8')).toContain('BEGIN PRIVATE KEY');
  });

  it('refuses a key file that is not an ed25519 private key', async () => {
    const stateDir = join(dir, 'bad');
    await ensureLauncherKey(stateDir);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    await writeFile(launcherKeyFile(stateDir), rsa);
    await expect(ensureLauncherKey(stateDir)).rejects.toBeInstanceOf(LauncherKeyError);
  });
});

describe('launcher certificate verdict (pure)', () => {
  const check = (c: Claim, now = DURING) => checkCertificate(c, launcherPublicKey(key.publicKeyPem), POOL, now);

  it('binds the peer the certificate names for its instance and cloud, until the certificate expires', () => {
    expect(check(claim())).toEqual(BOUND);
  });

  it('refuses for good a certificate past its expiry, or dated further ahead than the allowed clock skew', () => {
    for (const now of [claims.expiresAt, claims.expiresAt + DAY, ISSUED - CERTIFICATE_CLOCK_SKEW - 1]) {
      const v = check(claim(), now);
      expect(v, `at ${now - ISSUED} ms after issue`).toMatchObject({ kind: 'unbound', reason: 'bad-evidence' });
      expect(mayChange(v)).toBe(false);
    }
    expect(check(claim(), claims.expiresAt)).toMatchObject({
      detail: expect.stringMatching(/expired at .*re-provision/),
    });
    // A host whose clock is a little behind the laptop that signed still binds a fresh certificate.
    expect(check(claim(), ISSUED - CERTIFICATE_CLOCK_SKEW)).toEqual(BOUND);
    expect(check(claim(), claims.expiresAt - 1)).toEqual(BOUND);
  });

  it('refuses a certificate of the format before expiry (no validity window), even signed by the launcher', () => {
    const { expiresAt: _, ...old } = claims;
    const document = JSON.stringify({ kind: 'poolparty-launcher-certificate/1', ...old });
    const identity = { document, signature: sign(null, Buffer.from(document), key.privateKey).toString('base64') };
    expect(check(claim({ identity }))).toMatchObject({ reason: 'bad-evidence', detail: /not a launcher certificate/ });
  });

  it('refuses for good a claim without a certificate, or with one the launcher did not sign', () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const document = certificateDocument(claims);
    const forged = { document, signature: sign(null, Buffer.from(document), other).toString('base64') };
    for (const identity of [undefined, forged, { document, signature: 'AAAA' }]) {
      const v = check({ ...claim(), identity } as Claim);
      expect(v).toMatchObject({ kind: 'unbound', reason: 'bad-evidence' });
      expect(takesPart(v)).toBe(false);
      expect(mayChange(v)).toBe(false);
    }
  });

  it('refuses a certificate copied by another peer, or used for another instance, cloud or pool', () => {
    expect(check(claim({ peerId: 'P2' }))).toMatchObject({
      reason: 'bad-evidence',
      detail: expect.stringMatching(/P1/),
    });
    expect(check(claim({ instanceId: '127.0.0.3' }))).toMatchObject({ reason: 'bad-evidence' });
    expect(check(claim({ cloud: 'db' }))).toMatchObject({ reason: 'bad-evidence' });
    const elsewhere = mintCertificate(key, { ...claims, pool: 'q' });
    expect(check(claim({ identity: elsewhere }))).toMatchObject({ reason: 'bad-evidence' });
  });

  it('refuses a signed document that is not a certificate, or one edited after signing', () => {
    const signed = (document: string) => ({
      document,
      signature: sign(null, Buffer.from(document), key.privateKey).toString('base64'),
    });
    const plain = JSON.stringify({ ...claims });
    expect(check(claim({ identity: signed(plain) }))).toMatchObject({ reason: 'bad-evidence' });
    const good = mintCertificate(key, claims);
    const edited = { ...good, document: good.document.replace('P1', 'P2') };
    expect(check(claim({ peerId: 'P2', identity: edited }))).toMatchObject({ reason: 'bad-evidence' });
  });

  it('a live holder keeps its instance even against a valid certificate (re-provisioned with a new key)', () => {
    const source = launcherCertificateSource({ publicKey: key.publicKeyPem, pool: POOL, now: () => DURING });
    const v = bindingVerdict(claim(), source, 'P0');
    expect(v).toMatchObject({ kind: 'unbound', reason: 'taken' });
    expect(bindingVerdict(claim(), source, 'P1')).toEqual(BOUND);
  });

  it('a cached bound verdict falls due when its certificate expires, and is refused then', () => {
    let now = DURING;
    const source = launcherCertificateSource({ publicKey: key.publicKeyPem, pool: POOL, now: () => now });
    const cache = new BindingCache({ sourceFor: () => source, now: () => now, recheckAfter: 1000 });
    expect(cache.check(claim(), () => undefined)).toEqual(BOUND);
    now = claims.expiresAt - 1;
    expect(cache.due()).toEqual([]);
    expect(cache.takesPart('P1')).toBe(true);
    now = claims.expiresAt;
    expect(cache.due()).toEqual(['P1']);
    expect(cache.check(claim(), () => undefined)).toMatchObject({ kind: 'unbound', detail: /expired/ });
    expect(cache.takesPart('P1')).toBe(false);
    expect(cache.due()).toEqual([]);
  });

  it('only takes an ed25519 launcher key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' });
    expect(() => launcherPublicKey(rsa.toString())).toThrow(/not ed25519/);
  });
});

describe('an ssh agent’s config and record', () => {
  const base: AgentConfig = {
    pool: POOL,
    cloud: 'web',
    instanceId: '127.0.0.2',
    dataDir: '/var/lib/poolparty',
    poolKeyFile: '/etc/poolparty/pool.key',
    listen: ['/ip4/127.0.0.2/tcp/8643'],
    bootstrap: [],
    monitor: { host: '127.0.0.2', port: 8642, url: 'http://127.0.0.2:8642' },
    tunables: defaultTunables(),
    metrics: {},
  };
  const clouds = { web: 'ssh', db: 'ssh', api: 'ec2' };
  const config = () => agentConfigSchema.parse(withCertificate(base, key, clouds, 'P1', ISSUED, VALIDITY));
  const at = () => DURING;
  const expiry = ISSUED + VALIDITY;

  it('carries the public key, every cloud and its own certificate, and parses (never the private key)', () => {
    const c = config();
    expect(c.launcher?.clouds).toEqual(clouds);
    expect(c.launcher?.publicKey).toBe(key.publicKeyPem);
    expect(JSON.stringify(c)).not.toContain('PRIVATE');
    expect(() => agentConfigSchema.parse({ ...c, launcher: { ...c.launcher, publicKey: 'x' } })).toThrow();
  });

  it('puts the certificate in the first record, through the codec, and peers bind it', () => {
    const c = config();
    const own = ownIdentity(c, () => undefined);
    expect(own?.current).toEqual(c.launcher?.certificate);
    const record = memberRecord('P1', {
      instanceId: c.instanceId,
      cloud: c.cloud,
      ...(own?.current ? { identity: own.current } : {}),
    });
    const decoded = decodeMessage(encodeMessage(record), 256 * 1024);
    if (!decoded.ok) throw new Error(decoded.detail);
    const got = decoded.msg as Heartbeat;
    const peer = { ...config(), instanceId: '127.0.0.3' };
    const source = bindingSources(peer, { peerId: 'P9' }, undefined, at)('web');
    expect(source?.name).toBe('launcher-certificate');
    const fromRecord = { peerId: got.peerId, instanceId: got.instanceId, cloud: got.cloud, identity: got.identity };
    expect(source?.check(fromRecord)).toEqual({ ...BOUND, until: expiry });
  });

  it('checks ssh clouds by certificate, leaves other providers unchecked (warned once) and knows no other cloud', () => {
    const warned: Record<string, unknown>[] = [];
    const sources = bindingSources(config(), { peerId: 'P1' }, (msg, fields) => warned.push({ msg, ...fields }), at);
    expect(sources('db')?.check(claim({ cloud: 'db', identity: undefined }))).toMatchObject({
      reason: 'bad-evidence',
    });
    expect(sources('api')).toBeUndefined();
    expect(warned).toEqual([
      { msg: 'binding-unchecked', cloud: 'api', provider: 'ec2', why: 'this agent does not carry the pool definition' },
    ]);
    expect(sources('ghost')?.check(claim({ cloud: 'ghost' }))).toMatchObject({ reason: 'no-instance' });
  });

  it('says at start when its own certificate would not bind it (its peer key changed since it was signed)', () => {
    const warned: Record<string, unknown>[] = [];
    const warn = (msg: string, fields: Record<string, unknown>) => warned.push({ msg, ...fields });
    bindingSources(config(), { peerId: 'P1' }, warn, at);
    expect(warned.filter((w) => w.msg === 'own-certificate-refused')).toEqual([]);
    bindingSources(config(), { peerId: 'P7' }, warn, at);
    // …or it has expired: the host must be re-provisioned.
    bindingSources(config(), { peerId: 'P1' }, warn, () => expiry + DAY);
    expect(warned.filter((w) => w.msg === 'own-certificate-refused')).toEqual([
      { msg: 'own-certificate-refused', detail: expect.stringMatching(/names peer P1/) },
      { msg: 'own-certificate-refused', detail: expect.stringMatching(/expired/) },
    ]);
  });

  it('says at start when its own certificate expires within RENEW_WARNING, and not before', () => {
    const warned: Record<string, unknown>[] = [];
    const warn = (msg: string, fields: Record<string, unknown>) => warned.push({ msg, ...fields });
    bindingSources(config(), { peerId: 'P1' }, warn, () => expiry - RENEW_WARNING);
    expect(warned.filter((w) => w.msg === 'own-certificate-expiring')).toEqual([]);
    bindingSources(config(), { peerId: 'P1' }, warn, () => expiry - RENEW_WARNING + 1);
    expect(warned.filter((w) => w.msg === 'own-certificate-expiring')).toEqual([
      { msg: 'own-certificate-expiring', expiresAt: new Date(expiry).toISOString() },
    ]);
  });

  it('without a launcher block an ssh agent checks nobody, and says so at start', () => {
    const warned: string[] = [];
    const sources = bindingSources(base, { peerId: 'P1' }, (msg) => warned.push(msg));
    expect(sources('web')).toBeUndefined();
    expect(warned).toEqual(['binding-unchecked']);
  });
});
