import type { SimDecision, SimSummary, SimulationResult } from './types.ts';

/** An action one run took and the other did not take at the same instant (or took differently). */
export interface DecisionDiff {
  at: number;
  /** Which run took it: the base (`-c`) or the other (`--against`). */
  side: 'base' | 'other';
  action: SimDecision['action'];
  count: number;
  reason: string;
}

export interface Comparison {
  /** Actions (expand, contract, replace) the runs did not share, in time order. */
  differences: DecisionDiff[];
  /** Actions both took at the same instant with the same count. */
  shared: number;
  base: SimSummary;
  other: SimSummary;
  /** other − base, for the numbers that matter when choosing a config. */
  delta: {
    instanceHours: number;
    belowTargetMs: number;
    atMaxMs: number;
    expands: number;
    contracts: number;
    peak: number;
  };
}

/** The difference between two simulations of one trace: their actions and their totals. */
export function compareRuns(base: SimulationResult, other: SimulationResult): Comparison {
  const actions = (r: SimulationResult) => r.decisions.filter((d) => d.action !== 'none');
  const key = (d: SimDecision) => `${d.at}/${d.action}/${d.count}`;
  const baseKeys = new Set(actions(base).map(key));
  const otherKeys = new Set(actions(other).map(key));
  const only = (list: SimDecision[], keys: Set<string>, side: DecisionDiff['side']): DecisionDiff[] =>
    list
      .filter((d) => !keys.has(key(d)))
      .map((d) => ({ at: d.at, side, action: d.action, count: d.count, reason: d.reason }));
  const differences = [...only(actions(base), otherKeys, 'base'), ...only(actions(other), baseKeys, 'other')].sort(
    (a, b) => a.at - b.at || (a.side === b.side ? 0 : a.side === 'base' ? -1 : 1),
  );
  const b = base.summary;
  const o = other.summary;
  return {
    differences,
    shared: actions(base).filter((d) => otherKeys.has(key(d))).length,
    base: b,
    other: o,
    delta: {
      instanceHours: Math.round((o.instanceHours - b.instanceHours) * 1000) / 1000,
      belowTargetMs: o.belowTargetMs - b.belowTargetMs,
      atMaxMs: o.atMaxMs - b.atMaxMs,
      expands: o.expands - b.expands,
      contracts: o.contracts - b.contracts,
      peak: o.peak - b.peak,
    },
  };
}
