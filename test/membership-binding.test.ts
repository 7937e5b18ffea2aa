import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type BindingSource,
  bindingVerdict,
  type Claim,
  type LaunchedInstance,
  launcherRecordSource,
  mayChange,
  takesPart,
} from '../agent/membership/binding.ts';
import { BindingCache } from '../agent/membership/binding-cache.ts';
import { ec2IdentitySource } from '../agent/membership/binding-ec2.ts';
import { MemberRecords } from '../agent/membership/member-records.ts';
import type { MemberLiveness } from '../agent/membership/swim/types.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';

const claim = (over: Partial<Claim> = {}): Claim => ({ peerId: 'P1', instanceId: 'local-1', cloud: 'web', ...over });

function launcher(list: LaunchedInstance[]): BindingSource {
  const map = new Map(list.map((i) => [i.id, i]));
  return launcherRecordSource(() => map);
}

describe('binding rules (pure)', () => {
  const records = launcher([
    { id: 'local-1', state: 'running', peerId: 'P1', cloud: 'web' },
    { id: 'local-2', state: 'launching' },
    { id: 'local-3', state: 'terminated', peerId: 'P3', cloud: 'web' },
  ]);

  it("binds a peer the launcher's record names for its instance", () => {
    expect(bindingVerdict(claim(), records, undefined)).toEqual({ kind: 'bound', by: 'launcher-record' });
  });

  it('refuses an instance the launcher never recorded, for now (it may be recorded later)', () => {
    const v = bindingVerdict(claim({ instanceId: 'local-99' }), records, undefined);
    expect(v).toMatchObject({ kind: 'unbound', reason: 'no-instance' });
    expect(mayChange(v)).toBe(true);
    expect(takesPart(v)).toBe(false);
  });

  it("refuses for good a peer claiming another member's instance, or a terminated one, or another cloud", () => {
    for (const [c, reason] of [
      [claim({ peerId: 'ROGUE' }), 'other-peer'],
      [claim({ peerId: 'P3', instanceId: 'local-3' }), 'terminated'],
      [claim({ cloud: 'worker' }), 'other-peer'],
    ] as const) {
      const v = bindingVerdict(c, records, undefined);
      expect(v).toMatchObject({ kind: 'unbound', reason });
      expect(mayChange(v)).toBe(false);
    }
  });

  it('waits for a launch that has not recorded its peer id yet', () => {
    expect(bindingVerdict(claim({ instanceId: 'local-2' }), records, undefined)).toMatchObject({ reason: 'pending' });
  });

  it('first claim wins: a live holder keeps its instance whatever the source says', () => {
    expect(bindingVerdict(claim(), records, 'P0')).toMatchObject({ kind: 'unbound', reason: 'taken' });
    expect(bindingVerdict(claim(), records, 'P1')).toMatchObject({ kind: 'bound' });
  });

  it('a cloud without a source is unchecked and takes part (the rule before binding)', () => {
    const v = bindingVerdict(claim(), undefined, undefined);
    expect(v).toEqual({ kind: 'unchecked' });
    expect(takesPart(v)).toBe(true);
  });
});

describe('EC2 identity documents', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const certificate = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const docOf = (instanceId: string, region = 'eu-west-1') =>
    JSON.stringify({ instanceId, region, accountId: '123456789012', pendingTime: '2026-12-05T12:00:00Z' }, null, 2);
  const signed = (document: string) => ({
    document,
    signature: sign('sha256', Buffer.from(document), privateKey).toString('base64'),
  });
  const source = ec2IdentitySource({ certificate, region: 'eu-west-1' });
  const ec2 = (instanceId: string, identity?: Claim['identity']) =>
    bindingVerdict(claim({ instanceId, ...(identity ? { identity } : {}) }), source, undefined);

  it('binds a member whose signed document names its instance', () => {
    expect(ec2('i-0abc', signed(docOf('i-0abc')))).toEqual({ kind: 'bound', by: 'ec2-identity' });
  });

  it('refuses a missing, forged, altered or foreign document, and one naming another instance', () => {
    const { privateKey: other } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = {
      document: docOf('i-0abc'),
      signature: sign('sha256', Buffer.from(docOf('i-0abc')), other).toString('base64'),
    };
    const good = signed(docOf('i-0abc'));
    const altered = { ...good, document: good.document.replace('i-0abc', 'i-0abd') };
    for (const v of [
      ec2('i-0abc'),
      ec2('i-0abc', forged),
      ec2('i-0abd', altered),
      ec2('i-0def', good),
      ec2('i-0abc', signed(docOf('i-0abc', 'us-east-1'))),
      ec2('i-0abc', { document: 'x'.repeat(10_000), signature: good.signature }),
      ec2('i-0abc', signed('[1]')),
    ])
      expect(v).toMatchObject({ kind: 'unbound', reason: 'bad-evidence' });
  });

  it('a copied document loses to the live member that claimed the instance first', () => {
    const copied = claim({ peerId: 'ROGUE', instanceId: 'i-0abc', identity: signed(docOf('i-0abc')) });
    expect(bindingVerdict(copied, source, 'P1')).toMatchObject({ kind: 'unbound', reason: 'taken' });
  });
});

describe('binding cache', () => {
  it('checks a claim once, re-checks only verdicts that may change, and only when due', () => {
    let now = 0;
    let checks = 0;
    const known = new Map<string, LaunchedInstance>([['local-1', { id: 'local-1', state: 'running', peerId: 'P1' }]]);
    const inner = launcherRecordSource(() => known);
    const counted: BindingSource = {
      name: 'counted',
      check: (c) => {
        checks++;
        return inner.check(c);
      },
    };
    const cache = new BindingCache({ sourceFor: () => counted, now: () => now, recheckAfter: 2000 });
    for (let i = 0; i < 5; i++) expect(cache.check(claim(), () => undefined).kind).toBe('bound');
    expect(checks).toBe(1);
    expect(cache.check(claim({ peerId: 'P2', instanceId: 'local-2' }), () => undefined).kind).toBe('unbound');
    expect(cache.takesPart('P2')).toBe(false);
    expect([...cache.due()]).toEqual([]);
    known.set('local-2', { id: 'local-2', state: 'running', peerId: 'P2' });
    now = 2500;
    expect([...cache.due()]).toEqual(['P2']);
    expect(cache.check(claim({ peerId: 'P2', instanceId: 'local-2' }), () => undefined).kind).toBe('bound');
    expect(cache.takesPart('P2')).toBe(true);
    expect(checks).toBe(3);
  });
});

describe('member records behind the binding gate', () => {
  const record = (peerId: string, instanceId: string, seq = 1): Heartbeat => ({
    v: 2,
    type: 'heartbeat',
    peerId,
    instanceId,
    cloud: 'web',
    addrs: [],
    monitor: '',
    startedAt: 1,
    seq,
    version: '0',
    metrics: {},
  });
  const alive = (id: string): MemberLiveness => ({ id, state: 'alive', incarnation: 0, since: 0 }) as MemberLiveness;

  function gate(launched: LaunchedInstance[]) {
    const map = new Map(launched.map((i) => [i.id, i]));
    const source = launcherRecordSource(() => map);
    const now = 0;
    return new MemberRecords({
      self: 'SELF',
      selfInstance: () => 'local-0',
      maxMembers: 100,
      reapAfter: 60_000,
      now: () => now,
      liveness: (id) => alive(id),
      binding: new BindingCache({ sourceFor: () => source, now: () => now, recheckAfter: 2000 }),
    });
  }

  it('drops a record claiming a member instance under another peer id, hides one the launcher never made', () => {
    const g = gate([{ id: 'local-1', state: 'running', peerId: 'P1' }]);
    expect(g.offer(record('P1', 'local-1'))).toEqual({ ok: true, changed: true });
    expect(g.offer(record('ROGUE', 'local-1'))).toMatchObject({ ok: false, reason: 'instance-taken' });
    expect(g.offer(record('ROGUE', 'local-0'))).toMatchObject({ ok: false, reason: 'instance-taken' });
    expect(g.offer(record('FAKE', 'local-99'))).toEqual({ ok: true, changed: true });
    const known = [...g.known([alive('P1'), alive('ROGUE'), alive('FAKE')])].map((m) => m.record.peerId);
    expect(known).toEqual(['P1']);
    expect(g.takesPart('FAKE')).toBe(false);
    expect(g.book.get('ROGUE')).toBeUndefined();
  });

  it('refuses for good a record the launcher names under another peer, even with no live holder', () => {
    const g = gate([{ id: 'local-1', state: 'running', peerId: 'P1' }]);
    expect(g.offer(record('ROGUE', 'local-1'))).toMatchObject({ ok: false, reason: 'unbound' });
    expect(g.book.get('ROGUE')).toBeUndefined();
  });
});
