import type { BenchContext } from '../lib/context.ts';
import type { LoopbackBlock } from '../lib/loopback.ts';
import { sleep } from '../lib/procs.ts';
import { aliveCount, SerfPool } from '../lib/serf.ts';
import { idleWindow } from '../lib/window.ts';
import type { WireCounter } from '../lib/wire.ts';
import { brief, emptySide, SERF, type Side } from './cost-side.ts';

/** Serf's side of the process-mode cost row: the same measures, on its own address block, after ours. */
export async function serfSide(
  ctx: BenchContext,
  n: number,
  kills: number,
  wire: WireCounter | null,
  block: LoopbackBlock,
  settleMs: number,
): Promise<Side> {
  const side = emptySide();
  const serf = new SerfPool(block);
  try {
    await serf.prepare();
    const t0 = serf.startRest(n);
    const conv = await serf.sampleUntil(serf.nodes, (m) => aliveCount(m) === n, n >= 50 ? 120_000 : 60_000);
    side.convergeMs = conv === null ? null : conv - t0;
    ctx.log('cost-serf-converged', { n, ms: side.convergeMs });
    await sleep(ctx.quick ? 2000 : settleMs);
    side.idle = await idleWindow({
      wire,
      label: SERF,
      agents: n,
      pids: serf.pids,
      connections: null,
      windowMs: ctx.quick ? 10_000 : 30_000,
    });
    ctx.log('cost-serf-idle', { n, ...brief(side.idle) });
    await serf.timeKills(kills, (rep, ms, victim) => {
      ctx.log('cost-serf-kill', { n, rep, ms });
      if (ms !== null) side.killMs.push(ms);
      else side.missed.push({ rep, victim });
    });
  } catch (err) {
    ctx.log('serf-error', { scenario: 'cost', error: (err as Error).message });
  } finally {
    await serf.close();
  }
  return side;
}
