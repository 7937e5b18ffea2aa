import { describe, expect, it } from 'vitest';
import { ControlRouter, MAX_ACTION, MAX_ACTION_COUNT, MAX_FUTURE_SKEW, MAX_RETIRE_AGE } from '../agent/control.ts';
import { MAX_TERM_STEP } from '../agent/leader/terms.ts';
import { Leadership } from '../agent/leadership.ts';
import type { LoadExchange } from '../agent/load/exchange.ts';
import { ActionLedger } from '../agent/scaler/ledger.ts';
import type { ControlMessage, Intent, Outcome, Retire } from '../shared/wire/heartbeat.ts';
import { memberRecord } from './helpers/records.ts';

const NOW = 1_700_000_000_000;
const LEADER = 'leader';

/** A follower of LEADER at term 3, with a real ledger and leadership, and what it refused/did. */
function follower() {
  const leadership = new Leadership({ selfPeerId: () => 'me', startedAt: 10, settleAfter: 1000 });
  const record = memberRecord(LEADER, { instanceId: 'i-1', term: 3, leads: 3 });
  leadership.step([record], NOW);
  const ledger = new ActionLedger();
  const refused: Array<Record<string, unknown>> = [];
  const retired: string[] = [];
  const summaries: unknown[] = [];
  const router = new ControlRouter({
    self: () => 'me',
    now: () => NOW,
    leadership,
    ledger,
    load: { onSummary: (s: unknown) => summaries.push(s) } as unknown as LoadExchange,
    retire: (reason) => retired.push(reason),
    log: (_msg, fields) => refused.push(fields),
  });
  return { router, ledger, leadership, refused, retired, summaries };
}

const base = { v: 2 as const, peerId: LEADER, seq: 1, term: 3 };
const intent = (over: Partial<Intent> = {}): Intent => ({
  ...base,
  type: 'intent',
  cloud: 'web',
  action: 1,
  kind: 'expand',
  count: 1,
  token: 'pp-3-1-x',
  targets: [],
  reason: 'r',
  at: NOW,
  ...over,
});
const outcome = (over: Partial<Outcome> = {}): Outcome => ({
  ...base,
  type: 'outcome',
  cloud: 'web',
  action: 1,
  kind: 'expand',
  token: 'pp-3-1-x',
  ok: true,
  instanceIds: ['i-9'],
  at: NOW,
  ...over,
});
const retire = (over: Partial<Retire> = {}): Retire => ({
  ...base,
  type: 'retire',
  target: 'me',
  token: 'pp-3-2-x',
  at: NOW,
  ...over,
});

describe('control messages: bounded numbers from the leader (issue 15, item 5)', () => {
  it('accepts sane messages from the leader it follows', () => {
    const f = follower();
    expect(f.leadership.leader).toMatchObject({ peerId: LEADER, term: 3 });
    f.router.receive(intent());
    f.router.receive(outcome());
    f.router.receive(retire());
    expect(f.refused).toEqual([]);
    expect(f.ledger.entries()).toHaveLength(1);
    expect(f.retired).toHaveLength(1);
  });

  const refusals: Array<[string, ControlMessage, RegExp]> = [
    ['an intent dated 10 years ahead', intent({ at: NOW + 10 * 365 * 86_400_000 }), /future/],
    ['an intent just past the skew', intent({ at: NOW + MAX_FUTURE_SKEW + 1 }), /future/],
    ['an outcome from the future (it would freeze the cooldown)', outcome({ at: NOW + 3_600_000 }), /future/],
    ['a summary from the future', { ...base, type: 'summary', at: NOW + 3_600_000, members: [] }, /future/],
    ['a retire request from the future', retire({ at: NOW + MAX_FUTURE_SKEW + 1 }), /future/],
    ['a stale retire request (a replay)', retire({ at: NOW - MAX_RETIRE_AGE - 1 }), /too old/],
    ['an intent for more instances than any pool', intent({ count: MAX_ACTION_COUNT + 1 }), /count/],
    ['an intent with an action number past the bound', intent({ action: MAX_ACTION + 1 }), /action/],
    ['an outcome with action 0', outcome({ action: 0 }), /action/],
    ['an intent whose term is past the bound', intent({ term: 3 + MAX_TERM_STEP + 1 }), /term out of bounds/],
    ['an intent with term 2^53−1', intent({ term: Number.MAX_SAFE_INTEGER }), /term out of bounds/],
  ];
  for (const [what, msg, reason] of refusals) {
    it(`refuses ${what}`, () => {
      const f = follower();
      f.router.receive(msg);
      expect(f.refused).toHaveLength(1);
      expect(String(f.refused[0]?.reason)).toMatch(reason);
      expect(f.ledger.entries()).toEqual([]);
      expect(f.retired).toEqual([]);
      expect(f.summaries).toEqual([]);
      expect(f.leadership.term).toBe(3);
    });
  }

  it('an intent older than intentTimeout is kept but never blocks scaling', () => {
    const f = follower();
    f.router.receive(intent({ at: NOW - 10 * 365 * 86_400_000 }));
    expect(f.refused).toEqual([]);
    expect(f.ledger.inFlight('web', NOW, 60_000)).toBeNull();
  });

  it('refuses messages from anyone but the leader it follows', () => {
    const f = follower();
    f.router.receive(intent({ peerId: 'x', term: 4 }));
    f.router.receive(intent({ term: 2 }));
    expect(f.refused).toHaveLength(2);
    expect(f.ledger.entries()).toEqual([]);
  });
});
