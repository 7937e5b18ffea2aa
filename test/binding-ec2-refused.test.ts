import { encode } from 'cborg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LoadExchange } from '../agent/load/exchange.ts';
import { summaryFrames } from '../agent/load/summary.ts';
import type { Claim } from '../agent/membership/binding.ts';
import { BindingCache } from '../agent/membership/binding-cache.ts';
import { Ec2ListingSource, MAX_REFUSED } from '../agent/membership/binding-ec2-listing.ts';
import { HeldRefusals } from '../agent/membership/binding-ec2-listing-held.ts';
import { decodeFrame, frameToWire, type ProbeFrame, type SummaryRow } from '../shared/wire/probe.ts';
import { SUMMARY_LIMITS } from '../shared/wire/summary-frame.ts';

/**
 * Issue 15, followers take the leader's EC2 listing verdicts (pure): the summary frame's unbound
 * list (bounded by the codec, absent when empty, ignored by agents that predate it), the
 * leader's refusals as its listing source gives them, and on a follower the held refusal that its
 * listing source answers with instead of `unchecked`, through the real binding cache: taken only
 * from the leader it follows, held for 2 x TTL unless repeated, released when the leader counts
 * the peer. binding-ec2-refused-agents.test.ts runs it on real agents.
 */

const id = (i: number) => `12D3KooW${String(i).padStart(44, 'x')}`;
const row = (i: number): SummaryRow => ({ peerId: id(i), ageMs: i, metrics: { load: 0.5 } });
const claim = (peerId: string, instanceId = 'i-1'): Claim => ({ peerId, instanceId, cloud: 'app' });

describe('the summary frame carries the unbound list', () => {
  it('round-trips it, and a summary without one is byte for byte what it was', () => {
    const f: ProbeFrame = { t: 'summary', term: 7, rows: [row(1), row(2)], unbound: [id(8), id(9)] };
    expect(decodeFrame(encode(frameToWire(f)))).toEqual(f);
    const plain: ProbeFrame = { t: 'summary', term: 7, rows: [row(1), row(2)] };
    expect(frameToWire({ ...plain, unbound: [] })).toEqual(frameToWire(plain));
    expect(decodeFrame(encode(frameToWire(plain)))).toEqual(plain);
  });

  it('is bounded by the codec: at most 256 ids, each 1..128 characters', () => {
    const at = (unbound: string[]) => encode([6, 1, ['load', '', ...unbound], [id(1), 0, 0, 1]]);
    const max = Array.from({ length: SUMMARY_LIMITS.unbound }, (_, i) => id(i));
    expect(decodeFrame(at(max))).toMatchObject({ unbound: max });
    expect(decodeFrame(at([...max, id(999)]))).toBe('more than 256 unbound peers in a summary');
    expect(decodeFrame(at(['x'.repeat(129)]))).toBe('bad summary unbound peer');
    expect(decodeFrame(at(['a', '']))).toBe('bad summary unbound peer');
    // A row may only name a metric: an index into the list is refused.
    expect(typeof decodeFrame(encode([6, 1, ['load', '', 'p'], [id(1), 0, 2, 1]]))).toBe('string');
  });

  it('costs an agent that predates it nothing: the table holds strings and no row refers past the metric names', () => {
    // What a decoder before the list checks (verified against 0c518e1's probe.ts as well).
    const wire = frameToWire({ t: 'summary', term: 3, rows: [row(1), row(2)], unbound: [id(5)] });
    const names = wire[2] as unknown[];
    expect(names.every((n) => typeof n === 'string')).toBe(true);
    const metricNames = names.indexOf('');
    for (const r of wire.slice(3) as unknown[][])
      for (let j = 2; j < r.length; j += 2) expect(r[j] as number).toBeLessThan(metricNames);
  });

  it('is split with the rows under the frame limit, each id in one frame', () => {
    const rows = Array.from({ length: 40 }, (_, i) => row(i));
    const unbound = Array.from({ length: MAX_REFUSED }, (_, i) => id(1000 + i));
    const frames = summaryFrames(2, rows, 4096, unbound);
    expect(frames.length).toBeGreaterThan(3);
    for (const f of frames) expect(encode(frameToWire(f)).byteLength).toBeLessThanOrEqual(4096);
    expect(frames.flatMap((f) => f.unbound ?? [])).toEqual(unbound);
    expect(frames.flatMap((f) => f.rows)).toEqual(rows);
    expect(summaryFrames(2, rows, 4096).some((f) => 'unbound' in f)).toBe(false);
  });
});

describe('the leader publishes its refusals, a follower holds them', () => {
  let now = 1_000_000;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 1_000_000;
  });
  afterEach(() => vi.useRealTimers());

  const ttl = 60_000;
  const source = (acting: boolean, held?: HeldRefusals) =>
    new Ec2ListingSource({
      pool: 'web',
      cloud: 'app',
      acting: () => acting,
      list: async () => [
        {
          id: 'i-1',
          state: 'running',
          privateIp: '10.0.0.1',
          tags: { 'poolparty:pool': 'web', 'poolparty:cloud': 'app' },
        },
      ],
      connectedFrom: (peer) => (peer === 'M' ? ['10.0.0.1'] : []),
      locate: async () => ({ kind: 'unreachable', error: 'ECONNREFUSED' }),
      now: () => now,
      ttl,
      minInterval: 2000,
      retryAfter: 10_000,
      log: () => undefined,
      ...(held ? { held } : {}),
    });

  it("the leader's refused() lists the peers its listing refused, newest first, for the TTL", async () => {
    const s = source(true);
    s.check(claim('S', 'i-404'));
    s.check(claim('M'));
    await vi.advanceTimersByTimeAsync(1);
    now += 1;
    expect(s.check(claim('S', 'i-404'))).toMatchObject({ kind: 'unbound', reason: 'not-listed' });
    expect(s.check(claim('M'))).toMatchObject({ kind: 'bound' });
    expect(s.refused()).toEqual(['S']);
    now += ttl;
    expect(s.refused()).toEqual([]);
  });

  it('a follower answers with the held refusal, through the binding cache, until it lapses', () => {
    const held = new HeldRefusals({ now: () => now });
    const s = source(false, held);
    const cache = new BindingCache({ sourceFor: () => s, now: () => now, recheckAfter: 2000 });
    expect(cache.check(claim('S'), () => undefined)).toEqual({ kind: 'unchecked' });
    expect(cache.due()).toEqual([]);
    expect(held.hold({ peerId: 'L', term: 4 }, ['S', 'F', 'L'], 2 * ttl, 'F')).toEqual(['S']);
    expect(cache.due()).toEqual(['S']);
    const v = cache.check(claim('S'), () => undefined);
    expect(v).toEqual({ kind: 'unbound', reason: 'not-listed', detail: 'refused by leader L (term 4)' });
    expect(cache.takesPart('S')).toBe(false);
    // Repeated by the next summary: held 2 x TTL from then.
    now += ttl;
    held.hold({ peerId: 'L', term: 4 }, ['S'], 2 * ttl, 'F');
    now += 2 * ttl - 1;
    expect(held.verdict('S')).toMatchObject({ kind: 'unbound' });
    now += 1;
    expect(held.verdict('S')).toBeUndefined();
    cache.forget('S'); // membership drops an unbound record; the peer's next record is checked anew
    expect(cache.check(claim('S'), () => undefined)).toEqual({ kind: 'unchecked' });
    const r = held.revision(); // the cache reads it at its next tick: the lapse is found and counted
    expect(held.size).toBe(0);
    expect(held.revision()).toBe(r);
  });

  it('a peer the leader counts (a row of its summary) is released at once', () => {
    const held = new HeldRefusals({ now: () => now });
    held.hold({ peerId: 'L', term: 1 }, ['S'], 2 * ttl, 'F');
    const before = held.revision();
    held.release(['L', 'S']);
    expect(held.get('S')).toBeUndefined();
    expect(held.revision()).toBeGreaterThan(before);
  });

  it("a new leader keeps its predecessor's refusal until its own listing judges the claim", async () => {
    const held = new HeldRefusals({ now: () => now });
    held.hold({ peerId: 'L', term: 1 }, ['M'], 2 * ttl, 'F');
    const s = source(true, held);
    expect(s.check(claim('M'))).toMatchObject({ kind: 'unbound', detail: 'refused by leader L (term 1)' });
    await vi.advanceTimersByTimeAsync(1);
    now += 1;
    expect(s.check(claim('M'))).toMatchObject({ kind: 'bound' });
  });

  it('the load exchange takes the list only from the leader it follows, in its term', () => {
    const seen: Array<{ leader: string; refused: string[]; counted: string[] }> = [];
    const ex = new LoadExchange({
      self: () => 'F',
      now: () => now,
      loadInterval: 1000,
      leader: () => ({ peerId: 'L', term: 3 }),
      metrics: () => ({}),
      send: async () => undefined,
      memberIds: () => ['L', 'X'],
      maxMembers: 100,
      onVerdicts: (leader, v) => seen.push({ leader: leader.peerId, ...v }),
    });
    const frame = (term: number): ProbeFrame => ({ t: 'summary', term, rows: [row(1)], unbound: ['S'] });
    ex.onReport('X', frame(3));
    ex.onReport('L', frame(2));
    expect(seen).toEqual([]);
    ex.onReport('L', frame(3));
    expect(seen).toEqual([{ leader: 'L', refused: ['S'], counted: [id(1)] }]);
  });

  it('the leader sends a newly refused peer to every follower at once', async () => {
    const sent: Array<{ to: string; frame: ProbeFrame }> = [];
    let refused: string[] = [];
    const ex = new LoadExchange({
      self: () => 'L',
      now: () => now,
      loadInterval: 1000,
      leader: () => ({ peerId: 'L', term: 3 }),
      metrics: () => ({}),
      send: async (to, frame) => void sent.push({ to, frame }),
      memberIds: () => ['F'],
      maxMembers: 100,
      unbound: () => refused,
    });
    ex.book.report('F', { metrics: {}, at: now, term: 3 });
    await ex.tick();
    expect(sent.map((s) => s.frame)).toEqual([expect.not.objectContaining({ unbound: expect.anything() })]);
    now += 1000;
    refused = ['S'];
    await ex.tick();
    expect(sent.length).toBe(2);
    expect(sent[1]?.frame).toMatchObject({ t: 'summary', unbound: ['S'] });
  });
});
