import { describe, expect, it } from 'vitest';
import { type LaunchedInstance, launcherRecordSource } from '../agent/membership/binding.ts';
import { BindingCache } from '../agent/membership/binding-cache.ts';
import { type InboxContext, receiveSynced } from '../agent/membership/member-inbox.ts';
import { MemberRecords } from '../agent/membership/member-records.ts';
import type { MemberLiveness } from '../agent/membership/swim/types.ts';
import { memberRecord } from './helpers/records.ts';

/**
 * KNOWN DEFECT (issue 15, found by floodG in session 20; `it.fails` until fixed): a member that
 * holds the pool key and is bound to its own instance can rewrite another member's record through
 * anti-entropy. receiveSynced keeps the other members' records of a synced table after the binding
 * check alone (peer id <-> instance), which the genuine record and a forgery share; nothing shows
 * that the record's content came from its member (gossip has gossipsub's envelope signature, a
 * synced table has none). A forged record at the highest seq is never replaced by the member's own
 * (newest seq wins) and anti-entropy spreads it: monitor URL, addresses, `retiring`, `leads`, the
 * bundle state. The fix: records signed by their member, checked on every path (gossip, sync,
 * push), with a cache of checked signatures. When that lands this test passes: drop `.fails`.
 */
describe('a synced table cannot speak for a third member', () => {
  it.fails("another member's record with content its member never signed is not kept", () => {
    const launched = new Map<string, LaunchedInstance>([
      ['local-1', { id: 'local-1', state: 'running', peerId: 'P1' }],
      ['local-2', { id: 'local-2', state: 'running', peerId: 'P2' }],
    ]);
    const source = launcherRecordSource(() => launched);
    const members = new MemberRecords({
      self: 'SELF',
      selfInstance: () => 'local-0',
      maxMembers: 100,
      reapAfter: 60_000,
      now: () => 0,
      liveness: (id) => ({ id, state: 'alive', incarnation: 0, since: 0 }) as MemberLiveness,
      binding: new BindingCache({ sourceFor: () => source, now: () => 0, recheckAfter: 2000 }),
    });
    const ctx: InboxContext = {
      now: () => 0,
      members,
      step: () => undefined,
      onLoad: () => undefined,
      onReject: () => undefined,
      onBytes: () => undefined,
      kept: () => undefined,
    };
    members.offer(memberRecord('P1', { instanceId: 'local-1', seq: 5, monitor: 'http://p1' }));
    members.offer(memberRecord('P2', { instanceId: 'local-2', seq: 5 }));
    const forged = memberRecord('P1', {
      instanceId: 'local-1',
      seq: Number.MAX_SAFE_INTEGER,
      monitor: 'http://forged',
      retiring: true,
    });
    // P2, bound and a member, syncs us its own record and a forged one of P1.
    receiveSynced(
      ctx,
      'SELF',
      { entries: [], records: [memberRecord('P2', { instanceId: 'local-2', seq: 6 }), forged] },
      'P2',
    );
    expect(members.book.get('P1')?.monitor).toBe('http://p1');
  });
});
