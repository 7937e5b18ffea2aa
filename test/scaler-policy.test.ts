import { describe, expect, it } from 'vitest';
import { ActionLedger } from '../agent/scaler/ledger.ts';
import { clientToken } from '../agent/scaler/token.ts';
import { decide, type PolicyInput } from '../shared/scaling/decide.ts';
import { chooseVictims, type VictimCandidate } from '../shared/scaling/victims.ts';
import type { Intent, Outcome } from '../shared/wire/heartbeat.ts';
import { intentRecord } from './helpers/records.ts';

const idle = { evaluation: null, sustain: { since: null, heldForMs: 0, satisfied: false } };
const held = (ms: number) => ({ evaluation: null, sustain: { since: 0, heldForMs: ms, satisfied: true } });

function input(over: Partial<PolicyInput> = {}): PolicyInput {
  return {
    now: 100_000,
    count: 3,
    min: 2,
    max: 5,
    expandBy: 1,
    contractBy: 1,
    expand: idle,
    contract: idle,
    lastExpandAt: null,
    lastContractAt: null,
    cooldown: { expand: 60_000, contract: 180_000 },
    inFlight: null,
    ...over,
  };
}

describe('scaling policy', () => {
  it('does nothing when no rule holds, and says so', () => {
    expect(decide(input())).toEqual({ action: 'none', count: 0, reason: 'no rule holds' });
  });

  it('expands by the step when the expand rule is sustained', () => {
    expect(decide(input({ expand: held(30_000), expandBy: 2 }))).toMatchObject({ action: 'expand', count: 2 });
  });

  it('never plans past max: the step is clipped and at max it is blocked', () => {
    expect(decide(input({ count: 4, expand: held(30_000), expandBy: 3 }))).toMatchObject({
      action: 'expand',
      count: 1,
    });
    expect(decide(input({ count: 5, expand: held(30_000) }))).toMatchObject({ action: 'none', blocked: 'at-max' });
  });

  it('honours cooldowns and reports the time left', () => {
    const d = decide(input({ expand: held(30_000), lastExpandAt: 70_000 }));
    expect(d).toMatchObject({ action: 'none', blocked: 'cooldown' });
    expect(d.reason).toContain('30s left');
    expect(decide(input({ expand: held(30_000), lastExpandAt: 40_000 })).action).toBe('expand');
  });

  it('contracts down to min, never below', () => {
    expect(decide(input({ contract: held(120_000), contractBy: 5 }))).toMatchObject({ action: 'contract', count: 1 });
    expect(decide(input({ count: 2, contract: held(120_000) }))).toMatchObject({ action: 'none', blocked: 'at-min' });
  });

  it('enforces bounds regardless of load and cooldown', () => {
    expect(decide(input({ count: 0, lastExpandAt: 99_999 }))).toEqual({
      action: 'expand',
      count: 2,
      reason: 'below min: 0 < 2',
      policy: 'bounds',
    });
    expect(decide(input({ count: 7 }))).toMatchObject({ action: 'contract', count: 2 });
  });

  it('waits for an in-flight action before anything else, even below min', () => {
    const d = decide(input({ count: 0, inFlight: { action: 'expand', token: 'pp-1-1-x' } }));
    expect(d).toMatchObject({ action: 'none', blocked: 'in-flight' });
  });

  it('reports a rule that holds but is not sustained yet', () => {
    const d = decide(
      input({ expand: { evaluation: null, sustain: { since: 1, heldForMs: 12_000, satisfied: false } } }),
    );
    expect(d.reason).toBe('expand rule holding for 12s (not yet sustained)');
  });
});

describe('victim choice', () => {
  const now = 10_000_000;
  const c = (id: string, startedAt: number, load: number | null): VictimCandidate => ({
    instanceId: id,
    peerId: `p-${id}`,
    startedAt,
    load,
  });
  const pool = [c('a', 0, 0.9), c('b', 1000, 0.1), c('c', 2000, 0.5), c('young', now - 1000, 0)];
  const opts = { count: 1, now, minimumRuntime: 600_000, leaderPeerId: 'p-a', retiring: new Set<string>() };

  it.each([
    ['least-loaded', 'b'],
    ['newest', 'c'],
    ['oldest', 'b'],
  ] as const)('%s picks %s, skipping the young node and the leader', (policy, expected) => {
    expect(chooseVictims(pool, { ...opts, policy }).victims.map((v) => v.instanceId)).toEqual([expected]);
  });

  it('takes the leader last, only when nothing else is eligible', () => {
    const r = chooseVictims([c('a', 0, 0.1), c('young', now, 0)], { ...opts, policy: 'least-loaded' });
    expect(r.victims.map((v) => v.instanceId)).toEqual(['a']);
  });

  it('reports a shortfall instead of picking young or retiring nodes', () => {
    const r = chooseVictims(pool, { ...opts, count: 4, policy: 'oldest', retiring: new Set(['p-b']) });
    expect(r.victims.map((v) => v.instanceId)).toEqual(['c', 'a']);
    expect(r.shortfall).toBe('only 2 of 4 eligible (2 younger than minimumRuntime or retiring)');
  });
});

describe('client tokens and the action ledger', () => {
  it('derives a stable token of at most 64 chars from (pool, cloud, term, action)', () => {
    const t = clientToken('demo', 'web', 3, 7);
    expect(t).toBe(clientToken('demo', 'web', 3, 7));
    expect(t.length).toBeLessThanOrEqual(64);
    expect(t).toMatch(/^pp-3-7-[0-9a-f]+$/);
    expect(
      new Set([t, clientToken('demo', 'web', 4, 7), clientToken('demo', 'web', 3, 8), clientToken('x', 'web', 3, 7)])
        .size,
    ).toBe(4);
  });

  const intent = intentRecord;
  const outcome = (i: Intent, ok = true): Outcome => ({
    v: 2,
    type: 'outcome',
    peerId: i.peerId,
    seq: 2,
    term: i.term,
    cloud: i.cloud,
    action: i.action,
    kind: i.kind,
    token: i.token,
    ok,
    instanceIds: ['x'],
    at: i.at + 50,
  });

  it('tracks cooldown starts from successful outcomes, per cloud and kind', () => {
    const l = new ActionLedger();
    const a = intent({});
    l.intent(a);
    expect(l.lastAt('web', 'expand')).toBeNull();
    l.outcome(outcome(a));
    expect(l.lastAt('web', 'expand')).toBe(1000);
    expect(l.lastAt('web', 'contract')).toBeNull();
    expect(l.lastAt('db', 'expand')).toBeNull();
    const failed = intent({ token: 't2', at: 5000, action: 2 });
    l.intent(failed);
    l.outcome(outcome(failed, false));
    expect(l.lastAt('web', 'expand')).toBe(1000);
  });

  it('treats an intent without outcome as in flight until intentTimeout', () => {
    const l = new ActionLedger();
    l.intent(intent({ at: 1000 }));
    expect(l.inFlight('web', 2000, 60_000)?.token).toBe('t1');
    expect(l.inFlight('web', 61_000, 60_000)).toBeNull();
    expect(l.maxAction(1)).toBe(1);
    expect(l.maxAction(2)).toBe(0);
  });

  it('counts an outcome whose intent it never saw', () => {
    const l = new ActionLedger();
    l.outcome(outcome(intent({ at: 3000, kind: 'contract' })));
    // Without the intent, the outcome's time starts the cooldown (later, so conservative).
    expect(l.lastAt('web', 'contract')).toBe(3050);
  });

  it('stays bounded', () => {
    const l = new ActionLedger(10);
    for (let i = 0; i < 50; i++) l.intent(intent({ token: `t${i}`, action: i }));
    expect(l.entries()).toHaveLength(10);
  });
});
