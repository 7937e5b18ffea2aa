import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../shared/wire/codec.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';

const hb: Heartbeat = {
  v: 1,
  type: 'heartbeat',
  peerId: '12D3KooWExample',
  instanceId: 'local-1',
  cloud: 'web',
  addrs: ['/ip4/127.0.0.2/tcp/8643'],
  monitor: 'http://127.0.0.2:8642',
  startedAt: 1_700_000_000_000,
  seq: 1_700_000_000_001,
  version: '0.1.0',
  metrics: { load: 0.5, cpu: 12.5, mem: 40, queue: null },
};

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('wire codec', () => {
  it('round-trips a heartbeat and a leave', () => {
    expect(decodeMessage(encodeMessage(hb), 8192)).toEqual({ ok: true, msg: hb });
    const leave = { v: 1, type: 'leave', peerId: 'p', seq: 3 } as const;
    expect(decodeMessage(encodeMessage(leave), 8192)).toEqual({ ok: true, msg: leave });
  });

  it('drops unknown fields instead of passing them on', () => {
    const r = decodeMessage(enc({ ...hb, extra: 'x'.repeat(100) }), 8192);
    expect(r.ok && 'extra' in r.msg).toBe(false);
  });

  it('rejects oversized messages before parsing', () => {
    const r = decodeMessage(new Uint8Array(9000), 8192);
    expect(r).toMatchObject({ ok: false, reason: 'too-large' });
  });

  it.each([
    ['not json', new TextEncoder().encode('{nope'), 'not-json'],
    ['invalid utf-8', new Uint8Array([0xff, 0xfe, 0x7b]), 'not-json'],
    ['an array', enc([1, 2]), 'schema'],
    ['another version', enc({ ...hb, v: 2 }), 'version'],
    ['unknown type', enc({ ...hb, type: 'gossip' }), 'schema'],
    ['seq as string', enc({ ...hb, seq: '5' }), 'schema'],
    ['negative seq', enc({ ...hb, seq: -1 }), 'schema'],
    ['fractional startedAt', enc({ ...hb, startedAt: 1.5 }), 'schema'],
    ['empty peerId', enc({ ...hb, peerId: '' }), 'schema'],
    ['huge string', enc({ ...hb, cloud: 'c'.repeat(300) }), 'schema'],
    ['addrs not array', enc({ ...hb, addrs: '/ip4/1.2.3.4' }), 'schema'],
    ['addr not multiaddr', enc({ ...hb, addrs: ['http://x'] }), 'schema'],
    ['too many addrs', enc({ ...hb, addrs: Array(17).fill('/ip4/127.0.0.1/tcp/1') }), 'schema'],
    ['metric string', enc({ ...hb, metrics: { load: 'high' } }), 'schema'],
    ['metric bad name', enc({ ...hb, metrics: { 'a b': 1 } }), 'schema'],
    ['metrics array', enc({ ...hb, metrics: [1] }), 'schema'],
    ['leave without seq', enc({ v: 1, type: 'leave', peerId: 'p' }), 'schema'],
  ])('rejects %s', (_name, bytes, reason) => {
    const r = decodeMessage(bytes, 8192);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe(reason);
      expect(r.detail).not.toContain('\n');
    }
  });

  it('names the bad field', () => {
    const r = decodeMessage(enc({ ...hb, metrics: { load: 'x' } }), 8192);
    expect(r).toMatchObject({ ok: false, detail: 'metrics.load: expected a finite number or null' });
  });
});
