import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GossipChannel } from '../agent/gossip.ts';
import { termLimit } from '../agent/leader/terms.ts';
import { missesUs } from '../agent/membership/joining.ts';
import type { MembershipOptions } from '../agent/membership/membership-options.ts';
import { OwnRecord } from '../agent/membership/record-push.ts';
import { RecordBook } from '../agent/membership/records.ts';
import { ownTable } from '../agent/membership/sync.ts';
import type { FramedChannel } from '../agent/transport/channel.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';
import { memberRecord } from './helpers/records.ts';

/**
 * A change of `term` alone is kept in our book, not published (record-push.ts, issue 13: at a
 * failover every follower's record changed in the same second, N floods of N deliveries; published
 * 2–8 s later they landed in the next failover). Syncs carry it, and so does anything else we
 * publish or push.
 */

function own() {
  let fields: Partial<Heartbeat> = { term: 1 };
  const published: Heartbeat[] = [];
  const sent: string[] = [];
  const o = {
    self: 'me',
    now: Date.now,
    record: () => ({ ...memberRecord('me'), ...fields }),
    log: () => undefined,
    onBytes: () => undefined,
    swim: { maxMembers: 10 },
  } as unknown as MembershipOptions;
  const topic = { publish: async (m: Heartbeat) => void published.push(m) } as unknown as GossipChannel;
  const probes = { send: async (to: string) => void sent.push(to) } as unknown as FramedChannel;
  const book = new RecordBook(10);
  const record = new OwnRecord(o, book, topic, probes);
  return {
    record,
    book,
    published,
    sent,
    set: (f: Partial<Heartbeat>) => {
      fields = { ...fields, ...f };
    },
  };
}

describe('our record when only its term changed', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is kept in the book at once and never published, however long we wait', () => {
    const r = own();
    r.record.refresh();
    expect(r.published.map((h) => h.term)).toEqual([1]);
    r.set({ term: 2 });
    r.record.refresh();
    expect(r.book.get('me')?.term).toBe(2);
    r.set({ term: 3 });
    for (let i = 0; i < 100; i++) {
      r.record.refresh();
      vi.advanceTimersByTime(250);
    }
    expect(r.book.get('me')?.term).toBe(3);
    expect(r.published.map((h) => h.term)).toEqual([1]);
  });

  it('changes our sync table, so anti-entropy carries it', () => {
    const r = own();
    r.record.refresh();
    const me = [{ id: 'me', incarnation: 0, state: 'alive' as const }];
    const before = ownTable(me, r.book);
    r.set({ term: 2 });
    r.record.refresh();
    const after = ownTable(me, r.book);
    expect(after.hash).not.toBe(before.hash);
    expect(after.table().records.find((h) => h.peerId === 'me')?.term).toBe(2);
  });

  it('a sync that holds our last published record does not announce us again', () => {
    // joining.ts `pulled` re-announces (record and alive to the whole pool) when a synced table
    // holds an older record of ours: measured against the book's seq, every sync after a failover
    // did (first action 7-19 s at N=50 in one run).
    const r = own();
    r.record.refresh();
    const held = { ...(r.book.get('me') as Heartbeat) };
    r.set({ term: 2 });
    r.record.refresh();
    const table = { entries: [{ id: 'me', state: 'alive' }], records: [held] };
    expect(r.record.publishedSeq).toBe(held.seq);
    expect(missesUs('me', r.record.publishedSeq, table)).toBe(false);
    r.set({ bundle: 'b'.repeat(64) });
    r.record.refresh();
    expect(missesUs('me', r.record.publishedSeq, table)).toBe(true);
  });

  it('a claim, a step-down or another field goes at once, with the term', () => {
    const r = own();
    r.record.refresh();
    r.set({ term: 2 });
    r.record.refresh();
    r.set({ leads: 2 });
    r.record.refresh();
    expect(r.published.at(-1)).toMatchObject({ term: 2, leads: 2 });
    r.set({ term: 3, leads: undefined });
    r.record.refresh();
    expect(r.published.at(-1)).toMatchObject({ term: 3 });
    expect(r.published.at(-1)?.leads).toBeUndefined();
    r.set({ term: 4 });
    r.record.refresh();
    r.set({ bundle: 'b'.repeat(64) });
    r.record.refresh();
    expect(r.published.at(-1)).toMatchObject({ term: 4 });
    expect(r.published.map((h) => h.term)).toEqual([1, 2, 3, 4]);
    const seqs = r.published.map((h) => h.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  });

  it('a push sends it at once', () => {
    const r = own();
    r.record.refresh();
    r.set({ term: 2 });
    expect(r.record.push(['peer'])).toBe(1);
    expect(r.sent).toEqual(['peer']);
    expect(r.book.get('me')?.term).toBe(2);
  });
});

describe("why a follower's record still carries its term (terms.ts)", () => {
  it("a fresh member accepts a pool's term past MAX_TERM_STEP only through the members' terms", () => {
    // A pool at term 40: the leader's claim, 48 followers. A fresh member (own term 0) reads the
    // lower median of the members' terms as its anchor. Without the followers' terms it would
    // refuse the leader's claim (0 + 16 < 40) and never follow it.
    const leader = 40;
    expect(termLimit(0, [leader, ...new Array(48).fill(40)])).toBeGreaterThanOrEqual(leader);
    expect(termLimit(0, [leader, ...new Array(48).fill(0)])).toBeLessThan(leader);
    // Followers' terms a few failovers stale (not yet synced) still anchor it.
    expect(termLimit(0, [leader, ...new Array(48).fill(35)])).toBeGreaterThanOrEqual(leader);
  });
});
