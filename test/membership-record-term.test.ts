import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GossipChannel } from '../agent/gossip.ts';
import type { MembershipOptions } from '../agent/membership/membership-options.ts';
import { OwnRecord, TERM_ONLY_DELAY_MS } from '../agent/membership/record-push.ts';
import { RecordBook } from '../agent/membership/records.ts';
import type { FramedChannel } from '../agent/transport/channel.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';
import { memberRecord } from './helpers/records.ts';

/**
 * A change of `term` alone is published a few seconds later (record-push.ts, issue 13: at a
 * failover every follower's record changed in the same second, N floods of N deliveries); a claim,
 * a step-down or any other change goes at once and takes a pending term with it.
 */

const [, LATEST] = TERM_ONLY_DELAY_MS;

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

  it('is published once, within TERM_ONLY_DELAY_MS, however often it is checked', () => {
    const r = own();
    r.record.refresh();
    expect(r.published.map((h) => h.term)).toEqual([1]);
    r.set({ term: 2 });
    for (let i = 0; i < 8; i++) {
      r.record.refresh();
      vi.advanceTimersByTime(250);
    }
    r.set({ term: 3 });
    r.record.refresh();
    vi.advanceTimersByTime(LATEST);
    expect(r.published.map((h) => h.term)).toEqual([1, 3]);
    r.record.refresh();
    expect(r.published).toHaveLength(2);
  });

  it('a claim, a step-down or another field goes at once, with the pending term', () => {
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
    vi.advanceTimersByTime(LATEST);
    expect(r.published.map((h) => h.term)).toEqual([1, 2, 3, 4]);
  });

  it('a push sends it at once, and stop drops what was pending', () => {
    const r = own();
    r.record.refresh();
    r.set({ term: 2 });
    r.record.refresh();
    expect(r.record.push(['peer'])).toBe(1);
    expect(r.book.get('me')?.term).toBe(2);
    expect(r.published.map((h) => h.term)).toEqual([1, 2]);
    r.set({ term: 3 });
    r.record.refresh();
    r.record.stop();
    vi.advanceTimersByTime(LATEST);
    expect(r.published.map((h) => h.term)).toEqual([1, 2]);
  });
});
