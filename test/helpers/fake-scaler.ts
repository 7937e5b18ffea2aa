import { ActionLedger } from '../../agent/scaler/ledger.ts';
import { type ControlDraft, type DecisionRecord, Scaler, type ScalerDeps } from '../../agent/scaler/scaler.ts';
import type { InstanceRecord, RemoterBase } from '../../shared/remoter/types.ts';
import { SCALING_DEFAULTS } from '../../shared/scaling/config.ts';

/** What the fake provider lists, and how many launches it was asked for. */
export interface FakeProvider {
  listed: InstanceRecord[];
  launches: number;
  onList?: () => void;
}

/**
 * A scaler of cloud 'web' (min 3, max 4; expand at load > 0.8, contract below 0.1, for 1 s) over a
 * fake provider, at a fixed clock (1,000,000), leading as `leads` says; `over` replaces any of its
 * deps. What it publishes and decides is collected.
 */
export function fakeWebScaler(provider: FakeProvider, leads: () => number | null, over: Partial<ScalerDeps> = {}) {
  const remoter: RemoterBase = {
    provider: 'fake',
    list: async () => {
      provider.onList?.();
      return provider.listed;
    },
    launch: async () => {
      provider.launches++;
      return [];
    },
    terminate: async () => {},
  };
  const published: ControlDraft[] = [];
  const decisions: DecisionRecord[] = [];
  const deps: ScalerDeps = {
    pool: 'p',
    cloud: 'web',
    min: 3,
    max: 4,
    config: { ...SCALING_DEFAULTS, expandWhen: 'load > 0.8 for 1s', contractWhen: 'load < 0.1 for 1s' },
    deadAfter: 5000,
    replaceAfter: 60_000,
    remoter: () => remoter,
    ledger: new ActionLedger(),
    now: () => 1_000_000,
    leads,
    selfPeerId: () => 'p-1',
    selfInstanceId: () => 'i-1',
    retireSelf: () => {},
    members: () => [],
    publish: async (m) => {
      published.push(m);
    },
    onDecision: (d) => decisions.push(d),
    log: () => {},
    ...over,
  };
  return { scaler: new Scaler(deps), published, decisions };
}
