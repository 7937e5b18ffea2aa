import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection, Stream } from '@libp2p/interface';
import { afterAll, describe, expect, it } from 'vitest';
import type { UpgradeLeader } from '../agent/upgrade/leader.ts';
import { UpgradeMember } from '../agent/upgrade/member.ts';
import { acceptUpgradePush } from '../agent/upgrade/push.ts';
import { ArtifactStore } from '../agent/upgrade/store.ts';
import type { SignedManifest } from '../shared/upgrade/manifest.ts';
import { MAX_ROLLBACK_AGE, type SignedRollback, signRollback, verifyRollback } from '../shared/upgrade/rollback.ts';
import { line } from '../shared/wire/bundle-transfer.ts';

// Issue 19: "an outsider without the keys cannot trigger any of it", for `upgrade --rollback`.
// Forged and stale rollback requests pushed at the real checks: verifyRollback itself, the
// leader's push handler (acceptUpgradePush) and a member's answer (UpgradeMember), which returns
// a real store to its previous artifact only for a request that verifies.

const POOL = 'p';
const MINUTE = 60_000;

function keyPair(): { privateKey: KeyObject; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}
const poolKey = keyPair();
const outsiderKey = keyPair();

/** Each forgery, built at `now`, with the refusal it must get. */
function forgeries(now: number): { name: string; request: SignedRollback; refusal: RegExp }[] {
  const fresh = signRollback({ pool: POOL, issuedAt: now }, poolKey.privateKey);
  return [
    {
      name: 'signed by another key',
      request: signRollback({ pool: POOL, issuedAt: now }, outsiderKey.privateKey),
      refusal: /not signed by the pool upgrade key/,
    },
    {
      name: 'issuedAt edited after signing (an old request made to look fresh)',
      request: { ...fresh, request: { ...fresh.request, issuedAt: now + 1 } },
      refusal: /not signed by the pool upgrade key/,
    },
    {
      name: 'pool edited after signing',
      request: { ...fresh, request: { ...fresh.request, pool: 'other' } },
      refusal: /not signed by the pool upgrade key/,
    },
    {
      name: 'signed for another pool',
      request: signRollback({ pool: 'other', issuedAt: now }, poolKey.privateKey),
      refusal: /signed for pool 'other'/,
    },
    {
      name: 'older than the freshness window (a replay)',
      request: signRollback({ pool: POOL, issuedAt: now - MAX_ROLLBACK_AGE - MINUTE }, poolKey.privateKey),
      refusal: /too long ago/,
    },
    {
      name: 'dated ahead beyond the window',
      request: signRollback({ pool: POOL, issuedAt: now + MAX_ROLLBACK_AGE + MINUTE }, poolKey.privateKey),
      refusal: /too long ago \(or ahead\)/,
    },
    {
      name: 'unsigned',
      request: { request: { pool: POOL, issuedAt: now } } as SignedRollback,
      refusal: /not a signed rollback request/,
    },
  ];
}

/** A genuine request near the window's edge: a minute inside it, so test time cannot push it out. */
const genuine = (now: number) =>
  signRollback({ pool: POOL, issuedAt: now - MAX_ROLLBACK_AGE + MINUTE }, poolKey.privateKey);

describe('forged or stale rollback requests (pure: verifyRollback)', () => {
  const now = 1_800_000_000_000;
  it.each(forgeries(now))('refuses one $name', ({ request, refusal }) => {
    const v = verifyRollback(request, poolKey.publicKeyPem, POOL, now);
    expect(v.ok).toBe(false);
    expect(v.ok ? '' : v.detail).toMatch(refusal);
  });

  it('accepts a genuine one, fresh or near either edge of the window', () => {
    for (const issuedAt of [now, now - MAX_ROLLBACK_AGE + 1, now + MAX_ROLLBACK_AGE - 1]) {
      const r = signRollback({ pool: POOL, issuedAt }, poolKey.privateKey);
      expect(verifyRollback(r, poolKey.publicKeyPem, POOL, now)).toEqual({ ok: true });
    }
  });
});

/** A libp2p stream carrying one header line in, collecting what the handler answers. */
function streamOf(header: Record<string, unknown>): { stream: Stream; answer: () => Record<string, unknown> } {
  const out: Uint8Array[] = [];
  const stream = {
    async *[Symbol.asyncIterator]() {
      yield line(header);
    },
    send: (b: Uint8Array) => out.push(b) > 0,
    onDrain: async () => undefined,
    close: async () => undefined,
    abort: () => undefined,
  } as unknown as Stream;
  const answer = () => JSON.parse(Buffer.concat(out).toString('utf8')) as Record<string, unknown>;
  return { stream, answer };
}

/** The leader's push handler, leading, with a leader that records the rollbacks it begins. */
async function pushToLeader(rollback: SignedRollback) {
  const begun: unknown[] = [];
  const leader = { inProgress: () => null, beginRollback: (r: unknown) => begun.push(r) } as unknown as UpgradeLeader;
  const { stream, answer } = streamOf({ rollback });
  const conn = { remotePeer: { toString: () => 'outsider' } } as unknown as Connection;
  await acceptUpgradePush(stream, conn, {
    store: null as never,
    leader,
    pool: POOL,
    publicKey: poolKey.publicKeyPem,
    leading: () => true,
    leaderPeerId: () => 'L',
    maxBytes: 1024,
    gateMs: 1000,
    maxUnavailable: 1,
    log: () => undefined,
  });
  return { answer: answer(), begun };
}

describe('the leader refuses a forged or stale rollback push (acceptUpgradePush)', () => {
  it.each(forgeries(Date.now()))('refuses one $name and begins nothing', async ({ request, refusal }) => {
    const { answer, begun } = await pushToLeader(request);
    expect(answer.ok).toBe(false);
    expect(String(answer.error)).toMatch(refusal);
    expect(begun).toEqual([]);
  });

  it('begins a genuine one', async () => {
    const request = genuine(Date.now());
    const { answer, begun } = await pushToLeader(request);
    expect(answer).toEqual({ ok: true, rollback: true });
    expect(begun).toEqual([request]);
  });
});

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A member whose real store runs artifact 2 and would return to the agent it started from. */
async function upgradedMember() {
  const dir = await mkdtemp(join(tmpdir(), 'pp-upgC-rollback-'));
  dirs.push(dir);
  const store = new ArtifactStore(dir);
  const sha = '2'.repeat(64);
  const signed: SignedManifest = {
    manifest: { pool: POOL, version: 'v2', sha256: sha, size: 1, builtAt: 0, issuedAt: 0 },
    signature: 'x',
  };
  await store.put(signed, Buffer.from('artifact 2'));
  await store.activate(sha, '/opt/poolparty/poolparty-agent.mjs', 5000, 0);
  const member = new UpgradeMember({
    store,
    pool: POOL,
    publicKey: poolKey.publicKeyPem,
    selfPeerId: 'M',
    leader: () => 'L',
    now: () => Date.now(),
    log: () => undefined,
  } as unknown as ConstructorParameters<typeof UpgradeMember>[0]);
  return { member, store, upgraded: store.artifactPath(sha) };
}

describe('a member refuses a forged or stale rollback from its leader (UpgradeMember)', () => {
  it.each(forgeries(Date.now()))('refuses one $name and keeps running the upgrade', async ({ request, refusal }) => {
    const { member, store, upgraded } = await upgradedMember();
    const a = await member.answer({ type: 'rollback', request }, 'L');
    expect(a.ok).toBe(false);
    expect(String(a.error)).toMatch(refusal);
    expect(await store.current()).toBe(upgraded);
  });

  it('returns to the previous agent for a genuine one', async () => {
    const { member, store, upgraded } = await upgradedMember();
    const a = await member.answer({ type: 'rollback', request: genuine(Date.now()) }, 'L');
    expect(a).toEqual({ ok: true, restart: true, to: '/opt/poolparty/poolparty-agent.mjs' });
    expect(await store.current()).toBe('/opt/poolparty/poolparty-agent.mjs');
    expect(await store.previous()).toBe(upgraded);
  });
});
