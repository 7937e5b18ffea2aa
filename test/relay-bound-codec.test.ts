import { encode } from 'cborg';
import { describe, expect, it } from 'vitest';
import { decodeFrame, frameToWire, type ProbeFrame, type SealedSummary } from '../shared/wire/probe.ts';
import { boundBytes, reportBody, sealInner } from '../shared/wire/relay-report.ts';
import { summaryToWire } from '../shared/wire/summary-frame.ts';

/**
 * Issue 15, a report names its leader: the load frame's direct part names the leader whose term it
 * is (7th element), a leader's sealed summary says it counts reports bound to it (6th element),
 * and a bound report's signature covers boundBytes. Each new element goes after everything a
 * previous release reads, so the old layout must be the new frame's exact prefix: an agent of the
 * previous release reads [4, term, metrics, hop, relayed, at] and [7, term, inner, sig, hop] and
 * nothing after them (shared/wire/probe.ts at ff5e75b and 6422b09).
 */

const sig = new Uint8Array(64).fill(1);
const AT = 1_700_000_000_123;
const LEADER = '12D3KooWLeaderPeerIdForTheseTestsOnly';
const roundTrip = (f: ProbeFrame) => decodeFrame(encode(frameToWire(f)));
type Load = Extract<ProbeFrame, { t: 'load' }>;

describe('a load frame naming its leader', () => {
  const report = () => {
    const r = { origin: 'a', term: 3, seq: 1, at: AT, metrics: { cpu: 0.5 } };
    return { ...r, body: reportBody(r), sig };
  };

  it('round-trips the leader, with and without relayed reports', () => {
    const alone: ProbeFrame = { t: 'load', term: 3, metrics: { cpu: 0.2 }, at: AT, leader: LEADER };
    expect(frameToWire(alone)).toEqual([4, 3, { cpu: 0.2 }, 0, [], AT, LEADER]);
    expect(roundTrip(alone)).toEqual(alone);
    const relayed = roundTrip({ ...alone, hop: 2, relayed: [report()] }) as Load;
    expect([relayed.leader, relayed.at, relayed.hop, relayed.relayed?.[0]?.origin]).toEqual([LEADER, AT, 2, 'a']);
  });

  it('the previous layout is its exact prefix: an old decoder reads the same direct part', () => {
    const f: Load = { t: 'load', term: 3, metrics: { cpu: 0.2 }, hop: 1, relayed: [report()], at: AT };
    const wire = frameToWire({ ...f, leader: LEADER });
    expect(wire).toHaveLength(7);
    expect(wire.slice(0, 6)).toEqual(frameToWire(f));
    expect(wire.slice(0, 3)).toEqual([4, 3, { cpu: 0.2 }]);
    // What an agent reading six fields gets from it: the frame without the leader.
    const { leader: _, ...old } = roundTrip({ ...f, leader: LEADER }) as Load;
    expect(old).toEqual(roundTrip(f));
  });

  it('frames of previous releases decode as before, naming no leader', () => {
    for (const wire of [
      [4, 3, { cpu: 1 }],
      [4, 3, { cpu: 1 }, 0, []],
      [4, 3, { cpu: 1 }, 0, [], AT],
    ]) {
      const f = decodeFrame(encode(wire)) as Load;
      expect(f).toMatchObject({ t: 'load', term: 3, metrics: { cpu: 1 } });
      expect(f.leader).toBeUndefined();
    }
  });

  it('a leader without a sample time is sent with 0 for it (a time past every lease), never left out', () => {
    expect(frameToWire({ t: 'load', term: 3, metrics: {}, leader: LEADER })).toEqual([4, 3, {}, 0, [], 0, LEADER]);
  });

  it('a later element after the leader is ignored, as this release ignores it', () => {
    expect(decodeFrame(encode([4, 3, {}, 0, [], AT, LEADER, 'later']))).toEqual({
      t: 'load',
      term: 3,
      metrics: {},
      at: AT,
      leader: LEADER,
    });
  });

  it.each([
    ['an empty id', ''],
    ['an id past the bound', 'x'.repeat(129)],
    ['a number', 7],
    ['null', null],
  ])('a leader that is %s is refused with a reason', (_, leader) => {
    expect(decodeFrame(encode([4, 3, {}, 0, [], AT, leader]))).toBe('bad load leader');
  });
});

describe('a sealed summary saying its leader counts bound reports', () => {
  const summary = { t: 'summary' as const, term: 4, rows: [{ peerId: 'x', ageMs: 10, metrics: { cpu: 1 } }] };
  const inner = sealInner(4, 123, summaryToWire(summary));
  const seal = { inner, sig, at: 123, hop: 3 };

  it('round-trips the flag; without it the frame is the previous release’s, unchanged', () => {
    const flagged: SealedSummary = { ...summary, seal: { ...seal, binds: true } };
    expect(roundTrip(flagged)).toEqual(flagged);
    expect(frameToWire({ ...summary, seal })).toEqual([7, 4, inner, sig, 3]);
    expect(roundTrip({ ...summary, seal })).toEqual({ ...summary, seal });
  });

  it('the previous layout is its exact prefix: an old decoder reads the same seal', () => {
    const wire = frameToWire({ ...summary, seal: { ...seal, binds: true } });
    expect(wire).toEqual([7, 4, inner, sig, 3, 1]);
    expect(decodeFrame(encode(wire.slice(0, 5)))).toEqual({ ...summary, seal });
  });

  it('bit 0 of the flags is the flag; later bits are left to later releases', () => {
    const binds = (flags: number) => (decodeFrame(encode([7, 4, inner, sig, 0, flags])) as SealedSummary).seal?.binds;
    expect([binds(0), binds(1), binds(2), binds(3)]).toEqual([undefined, true, undefined, true]);
  });

  it.each([
    ['not a count', 'x'],
    ['negative', -1],
  ])('flags that are %s are refused with a reason', (_, flags) => {
    expect(decodeFrame(encode([7, 4, inner, sig, 0, flags]))).toBe('bad sealed summary flags');
  });
});

describe('the bytes a bound report is signed over', () => {
  const body = reportBody({ origin: 'a', term: 3, seq: 1, at: AT, metrics: { cpu: 0.5 } });

  it('open with a tag no plain body (a CBOR array of five) starts with, then the body and the leader', () => {
    const b = boundBytes(body, LEADER);
    expect(body[0]).toBe(0x85);
    expect(b[0]).not.toBe(0x85);
    expect(new TextDecoder().decode(b.slice(0, b.byteLength - body.byteLength - LEADER.length - 1))).toBe(
      'poolparty/report-for-leader/1',
    );
    expect(b.slice(-LEADER.length - 1 - body.byteLength, -LEADER.length - 1)).toEqual(body);
    expect(new TextDecoder().decode(b.slice(-LEADER.length))).toBe(LEADER);
    expect(b[b.byteLength - LEADER.length - 1]).toBe(0);
  });

  it('never pass as a report body: a bound signature cannot be relayed as a plain report', () => {
    const frame = [4, 3, {}, 0, [[boundBytes(body, LEADER), sig]]];
    expect(decodeFrame(encode(frame))).toBe('relayed report body is not a report');
  });

  it('differ for another leader and for another body', () => {
    const other = reportBody({ origin: 'a', term: 3, seq: 2, at: AT, metrics: { cpu: 0.5 } });
    expect(boundBytes(body, LEADER)).not.toEqual(boundBytes(body, `${LEADER}x`));
    expect(boundBytes(body, LEADER)).not.toEqual(boundBytes(other, LEADER));
  });
});
