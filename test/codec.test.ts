import { encode as encodeCbor } from 'cborg';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../shared/wire/codec.ts';
import type { Heartbeat, LoadSummary } from '../shared/wire/heartbeat.ts';

const hb: Heartbeat = {
  v: 2,
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

const enc = (v: unknown) => encodeCbor(v);

describe('wire codec', () => {
  it('round-trips a record', () => {
    expect(decodeMessage(encodeMessage(hb), 8192)).toEqual({ ok: true, msg: hb });
  });

  it('drops unknown fields instead of passing them on', () => {
    const r = decodeMessage(enc({ ...hb, extra: 'x'.repeat(100) }), 8192);
    expect(r.ok && 'extra' in r.msg).toBe(false);
  });

  it('drops unknown fields inside nested objects and reads retiring: false as absent', () => {
    const bundleReport = { ok: false, resolver: null, durationMs: 5, verifiers: { passed: 1, failed: ['http'] } };
    const r = decodeMessage(
      enc({
        ...hb,
        retiring: false,
        bundleReport: { ...bundleReport, extra: 1, verifiers: { ...bundleReport.verifiers, extra: 2 } },
        identity: { document: '{}', signature: 'c2ln', extra: 3 },
      }),
      8192,
    );
    expect(r).toEqual({ ok: true, msg: { ...hb, bundleReport, identity: { document: '{}', signature: 'c2ln' } } });
  });

  it('rejects oversized messages before parsing', () => {
    const r = decodeMessage(new Uint8Array(9000), 8192);
    expect(r).toMatchObject({ ok: false, reason: 'too-large' });
  });

  it.each([
    ['not cbor', new Uint8Array([0xff, 0xff]), 'not-cbor'],
    ['truncated cbor', new Uint8Array([0xa1, 0x61]), 'not-cbor'],
    ['a non-finite metric', enc({ ...hb, metrics: { load: Number.POSITIVE_INFINITY } }), 'not-cbor'],
    ['an absurd metric', enc({ ...hb, metrics: { load: 1e308 } }), 'schema'],
    ['an array', enc([1, 2]), 'schema'],
    ['another version', enc({ ...hb, v: 3 }), 'version'],
    ['unknown type', enc({ ...hb, type: 'gossip' }), 'schema'],
    ['a type named like an Object property', enc({ ...hb, type: 'constructor' }), 'schema'],
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
    [
      'the v1 leave, gone since leaving is a membership update',
      enc({ v: 2, type: 'leave', peerId: 'p', seq: 1 }),
      'schema',
    ],
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
    expect(r).toMatchObject({ ok: false, detail: 'metrics.load: expected a number within ±1000000000000 or null' });
  });

  it('round-trips control messages and the leader and bundle fields of heartbeats', () => {
    const intent = {
      v: 2,
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
    const retire = { v: 2, type: 'retire', peerId: 'L', seq: 10, term: 2, target: 'p', token: 't', at: 6 } as const;
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
        v: 2,
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
        v: 2,
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
    ['retire without target', { v: 2, type: 'retire', peerId: 'L', seq: 1, term: 1, token: 't', at: 1 }, /target/],
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

describe('wire codec: membership updates, summaries, stopping', () => {
  it('round-trips each update kind and keeps no unknown field', () => {
    for (const update of [
      { kind: 'alive', id: 'p1', incarnation: 3 },
      { kind: 'suspect', id: 'p1', incarnation: 3, from: 'p2', evidence: 'refused' },
      { kind: 'dead', id: 'p1', incarnation: 3, from: 'p2' },
      { kind: 'left', id: 'p1', incarnation: 4 },
    ] as const) {
      const msg = { v: 2, type: 'update', peerId: 'p2', seq: 7, update } as const;
      expect(decodeMessage(encodeMessage(msg), 8192)).toEqual({ ok: true, msg });
    }
    const r = decodeMessage(
      enc({ v: 2, type: 'update', peerId: 'p', seq: 1, update: { kind: 'alive', id: 'p', incarnation: 1, x: 1 } }),
      8192,
    );
    expect(r.ok && r.msg.type === 'update' && 'x' in r.msg.update).toBe(false);
  });

  it.each([
    ['an unknown kind', { kind: 'zombie', id: 'p', incarnation: 1 }, /update.kind/],
    ['an incarnation past 2^53', { kind: 'alive', id: 'p', incarnation: 2 ** 60 }, /incarnation|CBOR/],
    ['a suspect without its accuser', { kind: 'suspect', id: 'p', incarnation: 1, evidence: 'timeout' }, /from/],
    [
      'a suspect with unknown evidence',
      { kind: 'suspect', id: 'p', incarnation: 1, from: 'q', evidence: 'vibes' },
      /evidence/,
    ],
  ])('rejects an update with %s', (_name, update, detail) => {
    const r = decodeMessage(enc({ v: 2, type: 'update', peerId: 'p', seq: 1, update }), 8192);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.detail).toMatch(detail);
  });

  it('round-trips a load summary and refuses one with an absurd metric', () => {
    const summary: LoadSummary = {
      v: 2,
      type: 'summary',
      peerId: 'L',
      seq: 3,
      term: 2,
      at: 1000,
      members: [{ peerId: 'p1', ageMs: 40, metrics: { load: 0.5, queue: null } }],
    };
    expect(decodeMessage(encodeMessage(summary), 8192)).toEqual({ ok: true, msg: summary });
    const bad = { ...summary, members: [{ peerId: 'p1', ageMs: 40, metrics: { queue: 1e308 } }] };
    expect(decodeMessage(enc(bad), 8192)).toMatchObject({ ok: false, reason: 'schema' });
  });

  it('round-trips a stopping notice', () => {
    const msg = { v: 2, type: 'stopping', peerId: 'cli', seq: 1, at: 5 } as const;
    expect(decodeMessage(encodeMessage(msg), 8192)).toEqual({ ok: true, msg });
  });
});
