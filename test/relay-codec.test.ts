import { encode } from 'cborg';
import { describe, expect, it } from 'vitest';
import { decodeFrame, frameToWire, type ProbeFrame } from '../shared/wire/probe.ts';
import { RELAY_LIMITS, reportBody, type SignedReport, sealInner } from '../shared/wire/relay-report.ts';
import { summaryToWire } from '../shared/wire/summary-frame.ts';

/**
 * The relay frames (issue 13): a load frame carrying signed reports of the members below the
 * sender, and the leader's sealed summary. Malformed or oversized input is refused with a reason,
 * never thrown; the old three-field load frame is still what an agent of the previous release reads.
 */

const sig = new Uint8Array(64).fill(1);
function report(origin: string, seq = 1): SignedReport {
  const r = { origin, term: 3, seq, at: 1_700_000_000_000, metrics: { cpu: 0.5 } };
  return { ...r, body: reportBody(r), sig };
}
const roundTrip = (f: ProbeFrame) => decodeFrame(encode(frameToWire(f)));

describe('relayed load frames', () => {
  it('round-trip: the reports come back with their bytes, ready to verify', () => {
    const f: ProbeFrame = { t: 'load', term: 3, metrics: { cpu: 0.2 }, hop: 2, relayed: [report('a'), report('b', 9)] };
    const back = roundTrip(f) as Extract<ProbeFrame, { t: 'load' }>;
    expect(back.hop).toBe(2);
    expect(back.relayed?.map((r) => [r.origin, r.seq, r.term, r.metrics])).toEqual([
      ['a', 1, 3, { cpu: 0.5 }],
      ['b', 9, 3, { cpu: 0.5 }],
    ]);
    expect(back.relayed?.[1]?.body).toEqual(report('b', 9).body);
  });

  it('an agent of the previous release reads the first three fields: the same as a plain report', () => {
    const wire = frameToWire({ t: 'load', term: 3, metrics: { cpu: 0.2 }, hop: 0, relayed: [report('a')] });
    expect(wire.slice(0, 3)).toEqual(frameToWire({ t: 'load', term: 3, metrics: { cpu: 0.2 } }));
    expect(roundTrip({ t: 'load', term: 3, metrics: { cpu: 0.2 } })).toEqual({
      t: 'load',
      term: 3,
      metrics: { cpu: 0.2 },
    });
  });

  it('the direct part’s sample time (issue 15) goes sixth: a previous release reads the first five', () => {
    const at = 1_700_000_000_123;
    const f: ProbeFrame = { t: 'load', term: 3, metrics: { cpu: 0.2 }, hop: 1, relayed: [report('a')], at };
    const wire = frameToWire(f);
    expect(wire.slice(0, 5)).toEqual(frameToWire({ ...f, at: undefined }));
    expect((roundTrip(f) as Extract<ProbeFrame, { t: 'load' }>).at).toBe(at);
    // Without relayed reports (a node with no relay tree): an empty list before it, read as none.
    expect(frameToWire({ t: 'load', term: 3, metrics: {}, at })).toEqual([4, 3, {}, 0, [], at]);
    expect(roundTrip({ t: 'load', term: 3, metrics: {}, at })).toEqual({ t: 'load', term: 3, metrics: {}, at });
  });

  const bad = (rest: unknown[]) => decodeFrame(encode([4, 3, { cpu: 1 }, ...rest]));
  it.each([
    ['a hop count past the bound', [RELAY_LIMITS.hops + 1, []], 'relayed through more than 16 hops'],
    ['a hop that is not a count', [-1, []], 'bad relay hop count'],
    ['no list', [0], 'relayed reports are not a list'],
    [
      'too many reports',
      [0, Array.from({ length: 257 }, () => [report('a').body, sig])],
      'more than 256 relayed reports',
    ],
    ['a short signature', [0, [[report('a').body, new Uint8Array(10)]]], 'bad relayed report signature'],
    ['a body too large', [0, [[new Uint8Array(RELAY_LIMITS.body + 1), sig]]], 'bad relayed report body'],
    ['a body that is not CBOR', [0, [[new Uint8Array([0xff, 0xff]), sig]]], 'relayed report body is not a report'],
    ['a body of the wrong shape', [0, [[encode(['a', 3, 1]), sig]]], 'relayed report body is not a report'],
    ['a body with a bad origin', [0, [[encode(['', 3, 1, 5, {}]), sig]]], 'bad relayed report origin'],
    ['a body with bad metrics', [0, [[encode(['a', 3, 1, 5, 'x']), sig]]], 'relayed report'],
    ['a pair that is not a pair', [0, [[report('a').body]]], 'relayed report is not [body, sig]'],
    ['a sample time that is not a time', [0, [], -1], 'bad load sample time'],
    ['a sample time past the safe integers', [0, [], 2 ** 53], 'bad load sample time'],
  ])('%s is refused with a reason', (_, rest, reason) => {
    const r = bad(rest);
    expect(typeof r).toBe('string');
    expect(r).toContain(reason);
  });

  it('never throws on random bytes or random arrays', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed;
    };
    for (let i = 0; i < 2000; i++) {
      const bytes = Uint8Array.from({ length: rnd() % 64 }, () => rnd() & 0xff);
      expect(() => decodeFrame(bytes)).not.toThrow();
      expect(() => decodeFrame(encode([4, 1, {}, rnd() % 20, [[bytes, bytes]]]))).not.toThrow();
      expect(() => decodeFrame(encode([7, 1, bytes, bytes, rnd() % 20]))).not.toThrow();
    }
  });
});

describe('sealed summaries', () => {
  const summary = { t: 'summary' as const, term: 4, rows: [{ peerId: 'x', ageMs: 10, metrics: { cpu: 1 } }] };
  const inner = sealInner(4, 123, summaryToWire(summary));

  it('round-trip: the rows and the seal (bytes, time, hop) come back', () => {
    const back = roundTrip({ ...summary, seal: { inner, sig, at: 123, hop: 3 } });
    expect(back).toEqual({ ...summary, seal: { inner, sig, at: 123, hop: 3 } });
  });

  it.each([
    ['a term that is not the frame’s', [7, 5, inner, sig, 0], 'sealed summary term or time does not match'],
    ['a short signature', [7, 4, inner, new Uint8Array(3), 0], 'bad sealed summary signature'],
    ['too many hops', [7, 4, inner, sig, 17], 'bad sealed summary hop count'],
    ['not a summary inside', [7, 4, sealInner(4, 1, [4, 4, {}]), sig, 0], 'sealed summary body is not a summary'],
    ['a bad summary inside', [7, 4, sealInner(4, 1, [6, 4, 'x']), sig, 0], 'sealed bad summary names'],
  ])('%s is refused with a reason', (_, wire, reason) => {
    expect(decodeFrame(encode(wire))).toBe(reason);
  });
});
