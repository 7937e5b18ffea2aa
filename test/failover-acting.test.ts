import { describe, expect, it } from 'vitest';
import { ActionLedger } from '../agent/scaler/ledger.ts';
import { PoolScaler } from '../agent/scaler/pool-scaler.ts';
import { Scaler } from '../agent/scaler/scaler.ts';
import type { InstanceRecord, RemoterBase } from '../shared/remoter/types.ts';
import { SCALING_DEFAULTS } from '../shared/scaling/config.ts';
import type { Heartbeat } from '../shared/wire/heartbeat.ts';
import { dutyFixture } from './election-duty-fixture.ts';
import { memberRecord as record } from './helpers/records.ts';

/**
 * Issue 13, failover: the new leader acts on the step its quorum lease comes (the scalers are
 * stepped then, not at their next interval) and a follower acknowledges a new leader at once (its
 * load report is the lease's acknowledgement). LeaderDuty and PoolScaler as the agent wires them
 * (agent/compose.ts: onActing → scaler.stepNow, onFollow → load.tick), on a virtual clock.
 */
function pool(self: string, others: Heartbeat[], interval: number) {
  const launches: number[] = [];
  const follows: Array<{ peerId: string; term: number }> = [];
  const acting: number[] = [];
  let scalers: PoolScaler | undefined;
  const f = dutyFixture({
    self,
    members: others,
    leaseTimeout: 6000,
    counted: () => 0,
    onActing: (term) => {
      acting.push(term);
      void scalers?.stepNow(f.now());
    },
    onFollow: (l) => follows.push(l),
  });
  const { duty, leadership, members, ack } = f;
  const now = () => f.now();
  const provider: RemoterBase = {
    provider: 'fake',
    launch: async (req) => {
      launches.push(now());
      return Array.from(
        { length: req.count },
        (_, i): InstanceRecord => ({
          id: `new-${now()}-${i}`,
          state: 'pending',
          launchedAt: now(),
          tags: {},
        }),
      );
    },
    list: async () => [],
    terminate: async () => undefined,
  };
  const scaler = new Scaler({
    pool: 'demo',
    cloud: 'web',
    min: 1,
    max: 3,
    config: { ...SCALING_DEFAULTS, interval },
    deadAfter: 5000,
    replaceAfter: 60_000,
    remoter: () => provider,
    ledger: new ActionLedger(),
    now,
    leads: () => duty.actingTerm(),
    selfPeerId: () => self,
    selfInstanceId: () => self,
    retireSelf: () => undefined,
    members: () => [],
    publish: async () => undefined,
    onDecision: () => undefined,
    log: () => undefined,
  });
  scalers = new PoolScaler('web', new Map([['web', scaler]]));
  /** Lets the scaler's awaited provider calls run (they are promises, not timers). */
  const settle = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return { duty, leadership, members, scalers, ack, launches, follows, acting, settle, at: f.at };
}

describe('failover: the new leader acts as soon as its lease comes', () => {
  it('onActing is told on the election step the lease comes, once per term', () => {
    const p = pool('b', [record('c', { startedAt: 10 }), record('d', { startedAt: 20 })], 1000);
    p.at(100);
    p.duty.step();
    expect(p.leadership.leads).toBe(1);
    expect(p.acting).toEqual([]); // no acknowledgement yet: no lease
    p.at(300);
    p.ack(['c'], 1); // 2 of 3 with itself: a majority
    p.at(350);
    p.duty.step();
    expect(p.acting).toEqual([1]);
    p.at(600);
    p.duty.step();
    expect(p.acting).toEqual([1]); // not again while it stays acting
  });

  it('the scalers launch on that step, not at their next interval (a 60 s interval here)', async () => {
    const p = pool('b', [record('c', { startedAt: 10 }), record('d', { startedAt: 20 })], 60_000);
    p.at(0);
    await p.scalers.step(0); // the regular tick: not leading yet
    p.at(100);
    p.duty.step();
    expect(p.launches).toEqual([]);
    p.ack(['c', 'd'], 1);
    p.at(350);
    p.duty.step();
    await p.settle();
    // Below min (0 listed, min 1): the first step with the lease launches, 59.65 s before the tick.
    expect(p.launches).toEqual([350]);
  });

  it('a follower is told at once when it begins to follow a new leader (its acknowledgement goes then)', () => {
    const p = pool('d', [record('b', { startedAt: 10 }), record('c', { startedAt: 5, term: 1, leads: 1 })], 1000);
    p.at(100);
    p.duty.step();
    expect(p.follows).toEqual([{ peerId: 'c', term: 1 }]);
    // c dies; b (the oldest left) claims term 2.
    p.members.delete('c');
    p.members.set('b', record('b', { startedAt: 10, term: 2, leads: 2 }));
    p.at(2000);
    p.duty.step();
    expect(p.follows).toEqual([
      { peerId: 'c', term: 1 },
      { peerId: 'b', term: 2 },
    ]);
    expect(p.acting).toEqual([]);
  });
});
