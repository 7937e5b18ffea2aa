import { StreamState } from '@chainsafe/libp2p-yamux/stream';
import { encode } from 'cborg';
import { describe, expect, it } from 'vitest';
import { LoadBook } from '../agent/load/book.ts';
import { LoadExchange } from '../agent/load/exchange.ts';
import { summaryFrames, summaryRows } from '../agent/load/summary.ts';
import { MAX_FRAME } from '../agent/transport/frames.ts';
import { needsUpdate } from '../agent/transport/yamux-window.ts';
import { decodeFrame, frameToWire, type ProbeFrame, type SummaryRow } from '../shared/wire/probe.ts';

const id = (i: number) => `12D3KooW${String(i).padStart(44, 'x')}`;
const row = (i: number): SummaryRow => ({
  peerId: id(i),
  ageMs: i * 7,
  metrics: { load: 0.1234, cpu: 37.5, mem: null },
});

describe('summary frame codec', () => {
  it('round-trips rows with metric names sent once per frame', () => {
    const f: ProbeFrame = { t: 'summary', term: 4, rows: [row(1), row(2), { peerId: id(3), ageMs: 0, metrics: {} }] };
    const bytes = encode(frameToWire(f));
    expect(decodeFrame(bytes)).toEqual(f);
    // Each name appears once in the bytes, however many members carry it.
    expect(Buffer.from(bytes).toString('latin1').split('load').length - 1).toBe(1);
  });

  it('refuses malformed rows with a reason instead of throwing', () => {
    const bad: unknown[] = [
      [6, 1, 'load'],
      [6, 1, ['load'], ['p', 1, 0]],
      [6, 1, ['load'], ['p', -1, 0, 1]],
      [6, 1, ['load'], ['p', 1, 5, 1]],
      [6, 1, ['load'], ['p', 1, 0, 1e300]],
      [6, 1, ['no-dash'], ['p', 1, 0, 1]],
      [6, 1, ['load'], ['', 1, 0, 1]],
      [6, 1, ['load'], 'p'],
    ];
    for (const v of bad) expect(typeof decodeFrame(encode(v))).toBe('string');
  });

  it('keeps a metric named __proto__ an own property', () => {
    const f = decodeFrame(encode([6, 1, ['__proto__'], ['p', 1, 0, null]]));
    expect(typeof f).not.toBe('string');
    const m = (f as Extract<ProbeFrame, { t: 'summary' }>).rows[0]?.metrics as object;
    expect(Object.getPrototypeOf(m)).toBe(Object.prototype);
    expect(Object.hasOwn(m, '__proto__')).toBe(true);
  });
});

describe('summaryFrames', () => {
  it('splits a large pool into frames under the limit, losing no row', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => row(i));
    const frames = summaryFrames(9, rows, MAX_FRAME - 256);
    expect(frames.length).toBeGreaterThan(1);
    for (const f of frames) expect(encode(frameToWire(f)).byteLength).toBeLessThanOrEqual(MAX_FRAME);
    expect(frames.flatMap((f) => f.rows.map((r) => r.peerId))).toEqual(rows.map((r) => r.peerId));
  });

  it('puts the leader first at age 0 and only members it heard from', () => {
    const book = new LoadBook(10);
    book.report(id(1), { metrics: { load: 1 }, at: 900, term: 2 });
    const rows = summaryRows(id(0), { load: 0.5 }, [id(1), id(2)], book, 1000);
    expect(rows).toEqual([
      { peerId: id(0), ageMs: 0, metrics: { load: 0.5 } },
      { peerId: id(1), ageMs: 100, metrics: { load: 1 } },
    ]);
  });
});

/** A leader and two followers wired by their `send`, on one virtual clock. */
function pool() {
  let now = 10_000;
  const leader = { peerId: id(0), term: 3 };
  const sent: Array<{ from: string; to: string; frame: ProbeFrame }> = [];
  const nodes = new Map<string, LoadExchange>();
  for (const self of [id(0), id(1), id(2)]) {
    const ex = new LoadExchange({
      self: () => self,
      now: () => now,
      loadInterval: 2000,
      leader: () => leader,
      metrics: () => ({ load: Number(self.slice(-1)) }),
      send: async (to, frame) => {
        sent.push({ from: self, to, frame });
        nodes.get(to)?.onReport(self, frame);
      },
      memberIds: () => [id(0), id(1), id(2)].filter((x) => x !== self),
      maxMembers: 100,
    });
    nodes.set(self, ex);
  }
  const tickAll = async () => {
    for (const ex of nodes.values()) await ex.tick();
  };
  return { nodes, sent, tickAll, advance: (ms: number) => (now += ms), leader };
}

describe('LoadExchange: the summary goes point to point to followers', () => {
  it('followers learn every member metrics from the leader, and get it once per interval', async () => {
    const p = pool();
    await p.tickAll(); // followers report; the leader has reports from both and sends to both
    await p.tickAll();
    const f1 = p.nodes.get(id(1))?.book;
    expect(f1?.get(id(0))?.metrics).toEqual({ load: 0 });
    expect(f1?.get(id(2))?.metrics).toEqual({ load: 2 });
    const summaries = () => p.sent.filter((s) => s.frame.t === 'summary').length;
    const before = summaries();
    expect(before).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 2; i++) {
      p.advance(2000);
      await p.tickAll();
    }
    expect(summaries()).toBe(before); // 4 s < the 5 s minimum interval
    p.advance(2000);
    await p.tickAll();
    expect(summaries()).toBe(before + 2);
  });

  it('a follower ignores a summary from anyone but its leader, or of another term', async () => {
    const p = pool();
    const f1 = p.nodes.get(id(1)) as LoadExchange;
    const fake: ProbeFrame = { t: 'summary', term: 3, rows: [{ peerId: id(2), ageMs: 0, metrics: { load: 99 } }] };
    f1.onReport(id(2), fake);
    f1.onReport(id(0), { ...fake, term: 4 });
    expect(f1.book.get(id(2))).toBeUndefined();
    f1.onReport(id(0), fake);
    expect(f1.book.get(id(2))?.metrics).toEqual({ load: 99 });
  });
});

describe('yamux window updates', () => {
  it('are sent while a stream opens and once half the window is used, not per frame', () => {
    const w = 256 * 1024;
    expect(needsUpdate({ state: StreamState.Established, recvWindow: w, recvWindowCapacity: w - 20 })).toBe(false);
    expect(needsUpdate({ state: StreamState.Established, recvWindow: w, recvWindowCapacity: w / 2 })).toBe(true);
    expect(needsUpdate({ state: StreamState.SYNReceived, recvWindow: w, recvWindowCapacity: w })).toBe(true);
    expect(needsUpdate({ state: StreamState.Paused, recvWindow: w, recvWindowCapacity: w })).toBe(true);
  });
});
