import { describe, expect, it } from 'vitest';
import { ActionLedger } from '../agent/scaler/ledger.ts';
import type { InstanceRecord, RemoterBase } from '../shared/remoter/types.ts';
import { fakeWebScaler } from './helpers/fake-scaler.ts';

/**
 * A launch the provider does not list yet still counts against max ("unconfirmed", until listed
 * or joinTimeout). Found by the fault suite (session 22, 2+3 for 30 s): a leader re-elected after
 * another leader had terminated its launch counted it anyway, 7 against max 6, and terminated a
 * healthy instance as above max. A termination any leader announced as done ends the count.
 */
function running(n: number): InstanceRecord[] {
  return Array.from({ length: n }, (_, k) => ({ id: `i-${k + 1}`, state: 'running', launchedAt: 1_000_000, tags: {} }));
}

function leaderWithHiddenLaunch() {
  const ledger = new ActionLedger();
  // The provider's listing never shows the launch (eventual consistency, or it was ended).
  const remoter: RemoterBase = {
    provider: 'fake',
    list: async () => running(2),
    launch: async () => [{ id: 'i-7', state: 'pending', launchedAt: 1_000_000, tags: {} }],
    terminate: async () => {},
  };
  const f = fakeWebScaler({ listed: [], launches: 0 }, () => 1, { remoter: () => remoter, ledger });
  return { ...f, ledger };
}

describe('unconfirmed launches', () => {
  it('count until listed while nothing says they ended', async () => {
    const { scaler } = leaderWithHiddenLaunch();
    await scaler.step(); // 2 listed, min 3: launches i-7
    await scaler.step();
    expect(scaler.countedIn(1)).toBe(3);
  });

  it('stop counting once another leader announced their termination done', async () => {
    const { scaler, ledger } = leaderWithHiddenLaunch();
    await scaler.step();
    await scaler.step();
    expect(scaler.countedIn(1)).toBe(3);
    ledger.outcome({
      v: 2,
      type: 'outcome',
      peerId: 'p-other',
      seq: 1,
      term: 2,
      cloud: 'web',
      action: 1,
      kind: 'contract',
      token: 'pp-2-1',
      ok: true,
      instanceIds: ['i-7'],
      at: 1_000_000,
    });
    await scaler.step();
    expect(scaler.countedIn(1)).toBe(2);
  });
});
