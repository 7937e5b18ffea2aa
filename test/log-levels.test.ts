import { describe, expect, it } from 'vitest';
import {
  BUNDLE_LEVELS,
  CONTROL_LEVELS,
  leveled,
  MEMBERSHIP_LEVELS,
  RETIREMENT_LEVELS,
  SCALER_LEVELS,
} from '../agent/compose/log-levels.ts';
import { telemetry } from '../agent/compose/telemetry.ts';
import { EventHub } from '../agent/events.ts';
import type { AgentLog } from '../agent/types.ts';
import type { PoolEvent } from '../shared/wire/cluster.ts';

/** A log that keeps [level, msg] of each line. */
function recording() {
  const lines: [string, string, Record<string, unknown> | undefined][] = [];
  const at =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      lines.push([level, msg, fields]);
    };
  const log: AgentLog = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { log, levels: () => lines.map(([level, msg]) => `${level} ${msg}`), lines };
}

describe("the agent's pool events in the log", () => {
  const decision = { at: 1, term: 3, cloud: 'web', count: 1, instances: 2, reason: 'cpu > 80 for 60 s' };
  const events: PoolEvent[] = [
    { type: 'member-joined', peerId: 'p1', instanceId: 'i-1', at: 1 },
    { type: 'member-dead', peerId: 'p2', instanceId: 'i-2', at: 2 },
    { type: 'leader-elected', peerId: 'p1', term: 3, at: 3, self: false },
    { type: 'leader-lost', peerId: 'p1', term: 3, at: 4 },
    { type: 'scaling-decision', ...decision, action: 'none' },
    { type: 'scaling-decision', ...decision, action: 'expand', token: 't1', result: 'ok' },
    { type: 'scaling-decision', ...decision, action: 'expand', token: 't2', result: 'failed', error: 'no capacity' },
    { type: 'bundle-applied', peerId: 'p1', sha: 'abc', resolver: 'shell', durationMs: 5, at: 5 },
    { type: 'bundle-failed', peerId: 'p1', sha: 'abc', stage: 'apply', error: 'exit 1', at: 6 },
    { type: 'rollout-halted', sha: 'abc', reason: '2 failed', at: 7 },
    { type: 'upgrade-halted', sha: 'abc', version: '2', peerId: 'p1', instanceId: 'i-1', reason: 'rolled back', at: 8 },
    { type: 'upgrade-complete', sha: 'abc', version: '2', members: 2, at: 9 },
  ];

  it('trouble is warn or error, the rest info; each decision is one line with its reason', () => {
    const { log, levels, lines } = recording();
    const hub = new EventHub({ coalesceWindow: 0 });
    telemetry(
      log,
      hub,
      () => ({ alive: 0, suspect: 0, dead: 0, left: 0 }),
      () => 0,
    );
    for (const e of events) hub.emit(e);
    expect(levels()).toEqual([
      'info member-joined',
      'warn member-dead',
      'info leader-elected',
      'warn leader-lost',
      'info scaling-decision',
      'info scaling-decision',
      'error scaling-decision',
      'info bundle-applied',
      'error bundle-failed',
      'warn rollout-halted',
      'warn upgrade-halted',
      'info upgrade-complete',
    ]);
    const decisions = lines.filter(([, msg]) => msg === 'scaling-decision').map(([, , f]) => f);
    expect(decisions.map((f) => f?.reason)).toEqual(Array(3).fill(decision.reason));
    expect(decisions[2]).toMatchObject({ result: 'failed', error: 'no capacity' });
  });
});

describe("components' lines at their level", () => {
  it('membership: a failed join dial or publish warns, a core error is an error, a failed sync is debug', () => {
    const { log, levels } = recording();
    const write = leveled(log, MEMBERSHIP_LEVELS);
    for (const msg of ['join-dial-failed', 'members-publish-failed', 'membership-core-error', 'sync-failed']) {
      write(msg, {});
    }
    expect(levels()).toEqual([
      'warn join-dial-failed',
      'warn members-publish-failed',
      'error membership-core-error',
      'debug sync-failed',
    ]);
  });

  it('control: a refused message warns, the pool-stopping notice is info', () => {
    const { log, levels } = recording();
    const write = leveled(log, CONTROL_LEVELS);
    write('control-refused', { type: 'intent', from: 'p9', reason: 'term out of bounds' });
    write('pool-stopping', { from: 'p1', at: 1 });
    expect(levels()).toEqual(['warn control-refused', 'info pool-stopping']);
  });

  it('bundles and retirement: a failed hook or refused push needs a look, a successful one is news', () => {
    const { log, levels } = recording();
    const bundle = leveled(log, BUNDLE_LEVELS);
    bundle('hook', { event: 'afterConfigure', ok: true, timedOut: false });
    bundle('hook', { event: 'afterConfigure', ok: false, timedOut: false });
    bundle('hook-failed', { error: 'ENOENT' });
    bundle('bundle-push-refused', { error: 'too big' });
    bundle('bundle-fetched', { sha: 'abc' });
    leveled(log, RETIREMENT_LEVELS)('before-terminate-hook', { ok: false, timedOut: true });
    leveled(log, SCALER_LEVELS)('drain-timeout', { instances: ['i-1'] });
    leveled(log, SCALER_LEVELS)('scaling-intent', { kind: 'expand' });
    expect(levels()).toEqual([
      'info hook',
      'warn hook',
      'error hook-failed',
      'warn bundle-push-refused',
      'info bundle-fetched',
      'warn before-terminate-hook',
      'warn drain-timeout',
      'info scaling-intent',
    ]);
  });
});
