import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import type { BenchBuild } from './build.ts';
import type { LoopbackBlock } from './loopback.ts';
import type { Summary } from './stats.ts';

export interface BenchContext {
  root: string;
  /** Scratch dir of this run (pool keys, data dirs, metric files); removed at the end. */
  dir: string;
  build: BenchBuild;
  loopback: LoopbackBlock;
  quick: boolean;
  /** Agents per in-process host. */
  perHost: number;
  /** Serf side by side (false when the serf binary is missing). */
  serf: boolean;
  /** Extra node flags for every child (e.g. --cpu-prof). */
  nodeFlags: string[];
  log: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface Machine {
  cores: number;
  cpu: string;
  memGb: number;
  node: string;
  platform: string;
  /** 1-minute load average when the scenario finished: the machine is shared. */
  load1: number;
}

export function machine(): Machine {
  return {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    load1: Number((loadavg()[0] ?? 0).toFixed(2)),
  };
}

/** One measure of a scenario with PoolParty and Serf side by side (same run, same N, same loopback). */
export interface Measure {
  unit: string;
  /** The issue-13 target this measure is held against ('' when informative only). */
  target: string;
  poolparty: Summary;
  serf: Summary | null;
  /** poolparty / serf on the medians. */
  ratio: number | null;
  /** Whether PoolParty's median meets the target; null when informative or not measured. */
  met: boolean | null;
  note?: string;
}

/** One printed line / one element of results.json. */
export interface ScenarioResult extends Summary {
  scenario: string;
  parameters: Record<string, unknown>;
  unit: string;
  target: string;
  machine: Machine;
  /** Busy fraction of all cores in the second before the scenario started (quiet.ts). */
  startBusy?: number;
  /** Serf measured in the same run, same N, same loopback; null when there is no counterpart. */
  serf: Summary | null;
  /** ours / serf on the medians. */
  ratio: number | null;
  /** Breakdowns that explain the headline figure (start cost, suspect time, host lag, …). */
  detail?: Record<string, unknown>;
  /** Scenarios that measure several things at once: each with its Serf counterpart. */
  measures?: Record<string, Measure>;
  error?: string;
}
