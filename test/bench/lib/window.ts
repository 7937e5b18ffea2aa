import type { Measure } from './context.ts';
import { rates, sampleProc, sleep } from './procs.ts';
import { connectionsPerAddress } from './sockets.ts';
import { ratio, type Summary, summarize } from './stats.ts';
import { perAgentRate, type WireCounter } from './wire.ts';

/** What users pay, measured from outside over one idle window. */
export interface IdleWindow {
  /** Kernel-counted bytes of the group / agents / seconds; null without the wire counter. */
  wireBytesPerAgentPerS: number | null;
  wirePacketsPerAgentPerS: number | null;
  /** Per process: utime+stime delta over the window, % of one core. */
  cpuPct: number[];
  /** Per process: VmRSS at the end of the window (MB). */
  rssMb: number[];
  /** Per agent address: established TCP connections on the p2p port at the end (null: not counted). */
  connections: number[] | null;
  windowMs: number;
}

export interface WindowSpec {
  wire: WireCounter | null;
  /** The wire counter's group label for this system. */
  label: string;
  agents: number;
  pids: number[];
  /** Addresses and port whose connections to count, or null (Serf: UDP gossip). */
  connections: { ips: string[]; port: number } | null;
  windowMs: number;
}

export async function idleWindow(spec: WindowSpec): Promise<IdleWindow> {
  const w0 = spec.wire?.read().get(spec.label) ?? null;
  const p0 = spec.pids.map(sampleProc);
  await sleep(spec.windowMs);
  const w1 = spec.wire?.read().get(spec.label) ?? null;
  const p1 = spec.pids.map(sampleProc);
  const cpuPct: number[] = [];
  const rssMb: number[] = [];
  spec.pids.forEach((_, i) => {
    const a = p0[i];
    const b = p1[i];
    if (!a || !b) return;
    cpuPct.push(rates(a, b).cpuPct);
    rssMb.push(b.rssBytes / 2 ** 20);
  });
  const pkts = w0 && w1 ? perAgentRate({ ...w0, bytes: w0.packets }, { ...w1, bytes: w1.packets }, spec.agents) : null;
  return {
    wireBytesPerAgentPerS: w0 && w1 ? perAgentRate(w0, w1, spec.agents) : null,
    wirePacketsPerAgentPerS: pkts,
    cpuPct,
    rssMb,
    connections: spec.connections ? connectionsPerAddress(spec.connections.ips, spec.connections.port) : null,
    windowMs: spec.windowMs,
  };
}

/** A measure with both sides; `target` a bound on PoolParty's median (lower is better). */
export function measure(
  unit: string,
  target: string,
  bound: number | null,
  ours: Summary,
  theirs: Summary | null,
  note?: string,
): Measure {
  return {
    unit,
    target,
    poolparty: ours,
    serf: theirs,
    ratio: ratio(ours.median, theirs?.median ?? null),
    met: bound === null || ours.median === null ? null : ours.median <= bound,
    ...(note ? { note } : {}),
  };
}

const one = (v: number | null, digits = 0): Summary => summarize(v === null ? [] : [v], digits);

/** The idle-window measures of both systems (CPU and RSS per process; divided per agent by `perProcess`). */
export function idleMeasures(
  ours: IdleWindow,
  theirs: IdleWindow | null,
  targets: { wire: boolean; cpu: boolean; rss: boolean },
  perProcess = 1,
): Record<string, Measure> {
  const per = (xs: number[]) => xs.map((x) => x / perProcess);
  const note =
    perProcess > 1 ? `per agent = per host process / ${perProcess} agents (in-process hosts; informative)` : undefined;
  // Sampled per process: ours divided among the agents a host process runs; Serf runs one per agent.
  const perProcessMeasure = (
    unit: string,
    target: string,
    bound: number | null,
    pick: (w: IdleWindow) => number[],
    digits: number,
  ): Measure =>
    measure(
      unit,
      target,
      bound,
      summarize(per(pick(ours)), digits),
      theirs ? summarize(pick(theirs), digits) : null,
      note,
    );
  return {
    wireBytesPerAgentPerS: measure(
      'B/s',
      targets.wire ? '<= 1000 B/s per agent (constant in N)' : 'informative (target at N=50 and 200)',
      targets.wire ? 1000 : null,
      one(ours.wireBytesPerAgentPerS),
      theirs ? one(theirs.wireBytesPerAgentPerS) : null,
      'iptables INPUT -i lo: every packet to/from the p2p port (Serf: TCP+UDP 7946) of the block, counted once',
    ),
    wirePacketsPerAgentPerS: measure(
      'packets/s',
      '',
      null,
      one(ours.wirePacketsPerAgentPerS, 1),
      theirs ? one(theirs.wirePacketsPerAgentPerS, 1) : null,
    ),
    cpuPctPerAgent: perProcessMeasure(
      '% of one core',
      targets.cpu ? '<= 1 %' : 'informative (target at N=50)',
      targets.cpu ? 1 : null,
      (w) => w.cpuPct,
      2,
    ),
    rssMbPerAgent: perProcessMeasure(
      'MB',
      targets.rss ? '<= 64 MB (idle follower)' : 'informative',
      targets.rss ? 64 : null,
      (w) => w.rssMb,
      1,
    ),
    connectionsPerAgent: measure(
      'connections',
      '<= 16',
      16,
      summarize(ours.connections ?? []),
      null,
      'established TCP on the p2p port per agent address (/proc/net/tcp); Serf gossips over UDP',
    ),
  };
}
