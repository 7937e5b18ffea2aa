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

  it('round-trips control messages and the leader and bundle fields of heartbeats', () => {
    const intent = {
      v: 1,
      type: 'intent',
      peerId: 'L',
      seq: 9,
      term: 2,
      cloud: 'web',
      action: 3,
      kind: 'expand',
      count: 1,
      token: 'pp-2-3-abc',
      targets: [],
      reason: 'below min',
      at: 5,
    } as const;
    const outcome = { ...intent, type: 'outcome', ok: true, instanceIds: ['i-1'], error: 'x' } as const;
    const { count: _c, targets: _t, reason: _r, ...outcomeOnly } = outcome;
    const retire = { v: 1, type: 'retire', peerId: 'L', seq: 10, term: 2, target: 'p', token: 't', at: 6 } as const;
    for (const msg of [intent, outcomeOnly, retire]) {
      expect(decodeMessage(encodeMessage(msg as never), 8192)).toEqual({ ok: true, msg });
    }
    const sha = 'a'.repeat(64);
    const leaderHb = {
      ...hb,
      term: 2,
      leads: 2,
      bundle: sha,
      bundleState: 'applying',
      bundleTarget: sha,
      bundleReport: { ok: false, resolver: 'puppet', durationMs: 1234, verifiers: { passed: 2, failed: ['http'] } },
      rollout: { sha, allowed: ['p'], maxUnavailable: 1, startedAt: 1, cloud: 'web' },
    } as const;
    expect(decodeMessage(encodeMessage(leaderHb as never), 8192)).toEqual({ ok: true, msg: leaderHb });
    // Unknown fields inside the report are dropped, not carried along.
    const extra = { ...leaderHb, bundleReport: { ...leaderHb.bundleReport, resolver: null, secret: 'x' } };
    const decoded = decodeMessage(enc(extra), 8192);
    expect(decoded.ok && decoded.msg.type === 'heartbeat' && decoded.msg.bundleReport).toEqual({
      ok: false,
      resolver: null,
      durationMs: 1234,
      verifiers: { passed: 2, failed: ['http'] },
    });
  });

  it.each([
    [
      'intent with an unknown kind',
      {
        v: 1,
        type: 'intent',
        peerId: 'L',
        seq: 1,
        term: 1,
        cloud: 'c',
        action: 1,
        kind: 'explode',
        count: 1,
        token: 't',
        targets: [],
        reason: '',
        at: 1,
      },
      /kind/,
    ],
    [
      'outcome without ok',
      {
        v: 1,
        type: 'outcome',
        peerId: 'L',
        seq: 1,
        term: 1,
        cloud: 'c',
        action: 1,
        kind: 'expand',
        token: 't',
        instanceIds: [],
        at: 1,
      },
      /ok: missing/,
    ],
    ['retire without target', { v: 1, type: 'retire', peerId: 'L', seq: 1, term: 1, token: 't', at: 1 }, /target/],
    ['heartbeat with a bad bundle hash', { ...hb, bundle: 'nothex' }, /bundle: expected a sha256/],
    ['heartbeat with an unknown bundle state', { ...hb, bundleState: 'weird' }, /bundleState/],
    [
      'bundle report with a negative duration',
      { ...hb, bundleReport: { ok: true, resolver: 'itamae', durationMs: -1, verifiers: { passed: 0, failed: [] } } },
      /bundleReport\.durationMs/,
    ],
    [
      'bundle report without verifiers',
      { ...hb, bundleReport: { ok: true, resolver: 'itamae', durationMs: 1 } },
      /bundleReport\.verifiers/,
    ],
    [
      'rollout with too many allowed',
      { ...hb, rollout: { sha: 'a'.repeat(64), allowed: Array(300).fill('p'), maxUnavailable: 1, startedAt: 1 } },
      /rollout\.allowed/,
    ],
  ])('rejects %s', (_name, value, detail) => {
    const r = decodeMessage(enc(value), 65536);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.detail).toMatch(detail);
  });
});
