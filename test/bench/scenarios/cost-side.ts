import type { BenchContext } from '../lib/context.ts';
import { type LoopbackBlock, P2P_PORT, SERF_PORT } from '../lib/loopback.ts';
import { summarize } from '../lib/stats.ts';
import type { IdleWindow } from '../lib/window.ts';
import { WireCounter } from '../lib/wire.ts';

/**
 * What one side of the cost comparison (ours or Serf's) measured, and the wire counter both share:
 * one iptables group per side, labelled OURS and SERF.
 */
export const OURS = 'pp';
export const SERF = 'serf';

export interface Side {
  convergeMs: number | null;
  idle: IdleWindow | null;
  killMs: number[];
  /** kills after which some live agent never marked the victim dead (within the bound). */
  missed: Array<Record<string, unknown>>;
  suspectMs: number[];
  /** Process mode: when the agents reported started and when each saw all N alive (ms from t0). */
  timeline?: Record<string, unknown>;
}

export const emptySide = (): Side => ({ convergeMs: null, idle: null, killMs: [], missed: [], suspectMs: [] });

export function openWire(ctx: BenchContext, serfBlock: LoopbackBlock): { wire: WireCounter | null; note: string } {
  const w = WireCounter.open([
    { label: OURS, cidr: ctx.loopback.cidr, port: P2P_PORT, protocols: ['tcp'] },
    { label: SERF, cidr: serfBlock.cidr, port: SERF_PORT, protocols: ['tcp', 'udp'] },
  ]);
  if (typeof w === 'string') {
    ctx.log('wire-skipped', { reason: w });
    return { wire: null, note: `wire bytes not measured: ${w}` };
  }
  return { wire: w, note: `iptables chain ${w.chain}: INPUT -i lo, ${ctx.loopback.cidr} tcp/${P2P_PORT}` };
}

/** An idle window's medians, for a progress line. */
export function brief(w: IdleWindow) {
  const med = (xs: number[]) => summarize(xs, 2).median;
  return {
    wireBytesPerAgentPerS: w.wireBytesPerAgentPerS && Math.round(w.wireBytesPerAgentPerS),
    cpuPct: med(w.cpuPct),
    rssMb: med(w.rssMb),
    connections: w.connections && med(w.connections),
  };
}
