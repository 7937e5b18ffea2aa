import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type LaunchedInstance, launcherRecordSource } from '../agent/membership/binding.ts';
import { BindingCache } from '../agent/membership/binding-cache.ts';
import {
  type InboxContext,
  receiveAboutUs,
  receiveRecord,
  receiveSynced,
  receiveUpdate,
} from '../agent/membership/member-inbox.ts';
import { MemberRecords } from '../agent/membership/member-records.ts';
import { RecordSignatures, signedRecord } from '../agent/membership/record-signatures.ts';
import type { CoreInput, DigestEntry, MemberLiveness } from '../agent/membership/swim/types.ts';
import type { Table } from '../agent/membership/sync.ts';
import { type Heartbeat, WIRE_VERSION } from '../shared/wire/heartbeat.ts';
import { memberRecord } from './helpers/records.ts';

/**
 * Issue 15: a synced table from a peer the binding gate does not let take part changes nothing in
 * our view — a refused peer's table declaring a live member dead is not applied, and neither are
 * the records of others it carries. Before, only its records were dropped: its liveness entries
 * went to the core. Also: a peer refused for good (its record dropped) stays refused, so it can
 * neither accuse on the members topic nor have us refute on its word.
 */

/** A stand-in for a member's Ed25519 key over the same bytes: sha512(peer id, bytes), 64 bytes. */
const fakeSign = (peerId: string) => (bytes: Uint8Array) =>
  new Uint8Array(createHash('sha512').update(peerId).update(bytes).digest());
const fakeVerify = (peer: string, bytes: Uint8Array, sig: Uint8Array) =>
  Buffer.from(fakeSign(peer)(bytes)).equals(Buffer.from(sig));
const record = (peerId: string, instanceId: string, seq = 1) => memberRecord(peerId, { instanceId, seq });
/** `peerId`'s record as its member signed it. */
const signed = (peerId: string, instanceId: string, seq = 1, over: Partial<Heartbeat> = {}) =>
  signedRecord(memberRecord(peerId, { instanceId, seq, ...over }), fakeSign(peerId));
const entry = (id: string, incarnation: number, state: DigestEntry['state'] = 'alive') => ({ id, incarnation, state });
const alive = (id: string): MemberLiveness => ({ id, state: 'alive', incarnation: 0, since: 0 }) as MemberLiveness;

/** An inbox over a launcher record that launched P1, P2 and Z; local-8 is terminated. */
function inbox(maxMembers = 100) {
  const launched = new Map<string, LaunchedInstance>([
    ['local-1', { id: 'local-1', state: 'running', peerId: 'P1' }],
    ['local-2', { id: 'local-2', state: 'running', peerId: 'P2' }],
    ['local-3', { id: 'local-3', state: 'running', peerId: 'Z' }],
    ['local-8', { id: 'local-8', state: 'terminated', peerId: 'GONE' }],
  ]);
  const source = launcherRecordSource(() => launched);
  const members = new MemberRecords({
    self: 'SELF',
    selfInstance: () => 'local-0',
    maxMembers,
    reapAfter: 60_000,
    now: () => 0,
    liveness: alive,
    binding: new BindingCache({ sourceFor: () => source, now: () => 0, recheckAfter: 2000 }),
    signatures: new RecordSignatures(fakeVerify),
  });
  const steps: CoreInput[] = [];
  const rejects: string[] = [];
  const ctx: InboxContext = {
    now: () => 0,
    members,
    step: (i) => steps.push(i),
    onLoad: () => undefined,
    onReject: (reason) => rejects.push(reason),
    onBytes: () => undefined,
    kept: () => undefined,
  };
  members.offer(record('P1', 'local-1'));
  return { ctx, members, steps, rejects, launched };
}

/** `from`'s table: P1 dead one incarnation up, Z (launched, unknown to us) alive, and Z's record (signed by Z). */
const hostileTable = (from: Heartbeat | undefined): Table => ({
  entries: [entry('P1', 1, 'dead'), entry('Z', 0)],
  records: [...(from ? [from] : []), signed('Z', 'local-3')],
});

describe('a synced table counts only from a member that takes part (issue 15)', () => {
  it('from a bound member: its records are kept and its entries reach the core, with their sender', () => {
    const { ctx, members, steps } = inbox();
    receiveSynced(ctx, 'SELF', hostileTable(record('P2', 'local-2')), 'P2');
    expect(steps).toEqual([{ type: 'sync', entries: hostileTable(undefined).entries, now: 0, from: 'P2' }]);
    expect(members.book.get('Z')).toBeDefined();
  });

  for (const [what, claim] of [
    ['held back (no launch record)', record('X', 'local-99')],
    ['refused for good (terminated instance)', record('GONE', 'local-8')],
    ["refused (claims a live member's instance)", record('X', 'local-1')],
    ['that sent no claim at all', undefined],
  ] as const) {
    it(`from a peer ${what}: nothing reaches the core, no other record is kept`, () => {
      const { ctx, members, steps, rejects } = inbox();
      receiveSynced(ctx, 'SELF', hostileTable(claim), claim?.peerId ?? 'X');
      expect(steps).toEqual([]);
      expect(members.book.get('Z')).toBeUndefined();
      expect(rejects).toContain('unbound');
    });
  }

  it('the sender binds by its own record in the table: a member we had no record of', () => {
    const { ctx, steps } = inbox();
    receiveSynced(ctx, 'SELF', { entries: [entry('P2', 3)], records: [record('P2', 'local-2')] }, 'P2');
    expect(steps).toHaveLength(1);
  });
});

describe('a peer refused for good stays refused once its record is dropped', () => {
  const deadP1 = { v: WIRE_VERSION, type: 'update', seq: 1 } as const;

  it('its accusations on the members topic and its sync requests about us are refused', () => {
    const { ctx, members, steps } = inbox();
    expect(members.offer(record('GONE', 'local-8'))).toMatchObject({ ok: false, reason: 'unbound' });
    expect(members.book.get('GONE')).toBeUndefined();
    const accusation = { kind: 'dead', id: 'P1', incarnation: 1, from: 'GONE' } as const;
    expect(receiveUpdate(ctx, { ...deadP1, peerId: 'GONE', update: accusation })).toMatchObject({ reject: 'unbound' });
    receiveAboutUs(ctx, [entry('SELF', 5, 'dead')], 'GONE');
    expect(steps).toEqual([]);
  });

  it('a requester we hold no claim of is still heard about us (the other side of a long partition)', () => {
    const { ctx, steps } = inbox();
    receiveAboutUs(ctx, [entry('SELF', 5, 'dead')], 'NEVER-SEEN');
    expect(steps).toHaveLength(1);
  });

  it('a later record that binds takes it off; the memory holds at most maxMembers peers', () => {
    const { members, launched } = inbox(2);
    for (const id of ['A', 'B', 'GONE']) members.offer(record(id, 'local-8'));
    expect(['A', 'B', 'GONE'].map((id) => members.refused(id))).toEqual([false, true, true]);
    launched.set('local-9', { id: 'local-9', state: 'running', peerId: 'GONE' });
    expect(members.offer(record('GONE', 'local-9', 2))).toEqual({ ok: true, changed: true });
    expect(members.refused('GONE')).toBe(false);
  });
});

/**
 * Issue 15 (found in session 20, closed in session 21): a member that holds the pool key and is
 * bound to its own instance could rewrite another member's record through anti-entropy — the
 * binding check alone (peer id <-> instance) passes a forgery too, and a forged record at the
 * highest seq is never replaced by the member's own. Records now carry their member's signature,
 * checked on every path before the binding gate (record-signatures.ts).
 */
describe('a synced table cannot speak for a third member', () => {
  const forgedP1 = { instanceId: 'local-1', seq: Number.MAX_SAFE_INTEGER, monitor: 'http://forged', retiring: true };

  it("another member's record with content its member never signed is not kept", () => {
    const { ctx, members } = inbox();
    const forged = memberRecord('P1', forgedP1);
    // P2, bound and a member, syncs us its own record and a forged one of P1 (which we hold at seq 1).
    receiveSynced(ctx, 'SELF', { entries: [], records: [record('P2', 'local-2'), forged] }, 'P2');
    expect(members.book.get('P1')?.monitor).not.toBe('http://forged');
  });

  it('a forgery signed by the relay, or with a genuine signature on altered content, is refused and counted', () => {
    const { ctx, members, rejects } = inbox();
    const byP2 = signedRecord(memberRecord('P1', forgedP1), fakeSign('P2'));
    const altered = { ...signed('P1', 'local-1', 7), monitor: 'http://forged' };
    receiveSynced(ctx, 'SELF', { entries: [], records: [record('P2', 'local-2'), byP2, altered] }, 'P2');
    expect(members.book.get('P1')?.seq).toBe(1);
    expect(rejects).toEqual(['signature', 'signature']);
    // A forged record is refused before the binding gate: P1 is not refused for the claim it never made.
    receiveSynced(ctx, 'SELF', { entries: [], records: [memberRecord('P1', { instanceId: 'local-8', seq: 9 })] }, 'P2');
    expect(members.refused('P1')).toBe(false);
  });

  it('a record its member signed, relayed by a third member, is kept', () => {
    const { ctx, members, rejects } = inbox();
    receiveSynced(ctx, 'SELF', { entries: [], records: [record('P2', 'local-2'), signed('P1', 'local-1', 5)] }, 'P2');
    expect(members.book.get('P1')?.seq).toBe(5);
    expect(rejects).toEqual([]);
  });

  it('an older record its member signed, replayed, does not replace the newer one', () => {
    const { ctx, members } = inbox();
    const table = (r: Heartbeat): Table => ({ entries: [], records: [record('P2', 'local-2'), r] });
    receiveSynced(ctx, 'SELF', table(signed('P1', 'local-1', 5, { monitor: 'http://new' })), 'P2');
    receiveSynced(ctx, 'SELF', table(signed('P1', 'local-1', 3, { monitor: 'http://old', retiring: true })), 'P2');
    expect(members.book.get('P1')).toMatchObject({ seq: 5, monitor: 'http://new' });
    // Its seq is signed: the old content under a newer seq does not verify.
    receiveSynced(ctx, 'SELF', table({ ...signed('P1', 'local-1', 3, { monitor: 'http://old' }), seq: 6 }), 'P2');
    expect(members.book.get('P1')).toMatchObject({ seq: 5, monitor: 'http://new' });
  });

  it('an unsigned record (an older agent): kept from its member, refused when a third peer relays it', () => {
    const { ctx, members, rejects } = inbox();
    receiveSynced(ctx, 'SELF', { entries: [], records: [record('P2', 'local-2'), record('Z', 'local-3')] }, 'P2');
    expect(members.book.get('Z')).toBeUndefined();
    expect(rejects).toEqual(['unsigned']);
    receiveSynced(ctx, 'SELF', { entries: [], records: [record('Z', 'local-3')] }, 'Z');
    expect(members.book.get('Z')).toBeDefined();
    expect(receiveRecord(ctx, record('P2', 'local-2', 2))).toBeUndefined(); // on gossip: its publisher
    expect(members.book.get('P2')?.seq).toBe(2);
  });

  it('each version is verified once: repeats of a forgery and records no newer than held cost no check', () => {
    const { ctx, members, rejects } = inbox();
    const byP2 = signedRecord(memberRecord('P1', forgedP1), fakeSign('P2'));
    const table: Table = { entries: [], records: [signed('P2', 'local-2', 4), byP2, signed('Z', 'local-3', 2)] };
    for (let i = 0; i < 3; i++) receiveSynced(ctx, 'SELF', table, 'P2');
    // P2's and Z's records once each (kept, then no newer), the forgery once (remembered as failed).
    expect(members.signatures.verified).toBe(3);
    expect(rejects).toEqual(['signature', 'signature', 'signature']);
  });
});
