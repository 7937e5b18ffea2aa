import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MemberRequest } from '../agent/upgrade/ask.ts';
import { RollbackRun } from '../agent/upgrade/rollback-leader.ts';
import { legacyHold, parseRollbackHold, rollbackMarkOf } from '../agent/upgrade/rollback-notice.ts';
import { parseUpgradeRequest } from '../shared/upgrade/protocol.ts';
import { signRollback } from '../shared/upgrade/rollback.ts';

// The leader tells every member of a `--rollback` run before anyone returns with its own request
// type, `rollback-hold` (it rode inside `rollback` as `{hold, gateMs}` in session 11).
const key = generateKeyPairSync('ed25519').privateKey;
const request = signRollback({ pool: 'p', issuedAt: 1_000 }, key);

describe('rollback-hold', () => {
  it('is parsed with its gate bounded; the hold of a session 11 leader reads the same', () => {
    expect(parseRollbackHold({ type: 'rollback-hold', request, gateMs: 5000 })).toEqual({
      type: 'rollback-hold',
      request,
      gateMs: 5000,
    });
    expect(parseRollbackHold({ type: 'rollback-hold', request, gateMs: 0 })).toMatch(/^gateMs: expected/);
    expect(parseRollbackHold({ type: 'rollback-hold', request })).toMatch(/^gateMs: expected/);
    expect(legacyHold({ hold: request, gateMs: 5000 })).toEqual({ type: 'rollback-hold', request, gateMs: 5000 });
    expect(legacyHold(request)).toBeNull(); // a return carries the signed request itself
  });

  it('an agent of session 11 refuses it without retry: it is not told, and the run goes on', async () => {
    // What such an agent answers: its parser knows no `rollback-hold` (member.ts answers the string).
    const old = parseUpgradeRequest({ type: 'rollback-hold', request, gateMs: 5000 });
    expect(old).toBe('type: unknown "rollback-hold"');
    const asked: Array<[string, string]> = [];
    const ask = async (peer: string, req: MemberRequest) => {
      asked.push([peer, req.type]);
      if (req.type === 'rollback-hold') return peer === 'O' ? { ok: false, error: old } : { ok: true };
      if (req.type === 'status') return { ok: true, ready: true, sha256: 'new' };
      return { ok: true };
    };
    const run = new RollbackRun({
      request,
      members: [
        { peerId: 'A', instanceId: 'i-A' },
        { peerId: 'O', instanceId: 'i-O' },
      ],
      self: { peerId: 'L', instanceId: 'i-L' },
      gateMs: 60_000,
      now: 0,
      hold: true,
    });
    await run.step(
      ask,
      async () => undefined,
      () => 1,
    );
    expect(asked.filter(([, t]) => t === 'rollback-hold').map(([p]) => p)).toEqual(['A', 'O', 'L']);
    asked.length = 0;
    await run.step(
      ask,
      async () => undefined,
      () => 2,
    );
    expect(asked).toEqual([
      ['A', 'status'],
      ['A', 'rollback'],
    ]);
  });

  it("a status answer's rollback field is read checked", () => {
    expect(rollbackMarkOf({ ok: true, rollback: { id: 'x', returnedAt: 3 } })).toEqual({ id: 'x', returnedAt: 3 });
    expect(rollbackMarkOf({ ok: true, rollback: { id: 'x', returnedAt: 'soon' } })).toEqual({ id: 'x' });
    expect(rollbackMarkOf({ ok: true, rollback: { id: 7 } })).toBeNull();
    expect(rollbackMarkOf({ ok: false, rollback: { id: 'x' } })).toBeNull();
    expect(rollbackMarkOf({ ok: true })).toBeNull();
  });
});

describe('a member lost mid-rollback', () => {
  it('is skipped (gone from the pool) instead of asked again for ever', async () => {
    const gone = new Set<string>();
    const back = new Set<string>();
    const asked: string[] = [];
    const ask = async (peer: string, req: MemberRequest) => {
      asked.push(`${peer} ${req.type}`);
      if (gone.has(peer)) return { ok: false, retry: true, error: 'unreachable: dial timed out' };
      if (req.type === 'status') return { ok: true, ready: true, sha256: back.has(peer) ? null : 'new' };
      back.add(peer);
      return { ok: true };
    };
    const run = new RollbackRun({
      request,
      members: [
        { peerId: 'A', instanceId: 'i-A' },
        { peerId: 'B', instanceId: 'i-B' },
      ],
      self: { peerId: 'L', instanceId: 'i-L' },
      gateMs: 60_000,
      now: 0,
      gone: (p) => gone.has(p),
    });
    gone.add('A');
    let self = 0;
    for (let t = 1; t < 8 && !run.finished; t++)
      await run.step(
        ask,
        async () => void self++,
        () => t,
      );
    expect(run.progress.skipped).toEqual([{ peerId: 'A', why: 'gone from the pool' }]);
    expect(run.progress.done).toEqual(['B']);
    expect(run.progress.completedAt).toBeDefined();
    expect(asked.some((a) => a.startsWith('A '))).toBe(false);
    expect(self).toBe(1);
  });
});
