import { join } from 'node:path';
import type { BenchContext } from '../lib/context.ts';
import { P2P_PORT } from '../lib/loopback.ts';
import { ProcPool } from '../lib/procpool.ts';
import { sleep } from '../lib/procs.ts';
import { settle } from '../lib/settle.ts';
import { summarize } from '../lib/stats.ts';
import { idleWindow } from '../lib/window.ts';
import type { WireCounter } from '../lib/wire.ts';
import { brief, emptySide, OURS, type Side } from './cost-side.ts';

/**
 * Our side of the process-mode cost row: N agents, one per process, started at once (seed first);
 * start → every agent sees N alive, an idle window `settleMs` after that, then `kills` kill -9s.
 */
export async function oursInProcesses(
  ctx: BenchContext,
  n: number,
  kills: number,
  wire: WireCounter | null,
  settleMs: number,
): Promise<Side> {
  const side = emptySide();
  const pool = new ProcPool({
    dir: join(ctx.dir, `cost-${n}`),
    script: ctx.build.agent,
    loopback: ctx.loopback,
    nodeFlags: ctx.nodeFlags,
  });
  try {
    const t0 = await pool.start(n, {
      // Every process imports libp2p (~2 s of CPU each); on 2 shared cores 50 of them take minutes.
      startTimeoutMs: n >= 50 ? 300_000 : 240_000,
      onProgress: (p) => ctx.log('cost-starting', { n, ...p }),
    });
    const ids = pool.agents.map((a) => a.id);
    const conv = await pool.until(() => pool.tracker.convergedAt(ids), n >= 50 ? 120_000 : 60_000);
    side.convergeMs = conv === null ? null : conv - t0;
    const rel = (x: number | null) => (x === null ? null : x - t0);
    side.timeline = {
      startedMs: summarize(pool.agents.slice(1).map((a) => a.startedAt - t0)),
      convergedMs: summarize(
        pool.tracker
          .convergedTimes(ids)
          .map(rel)
          .filter((x): x is number => x !== null),
      ),
    };
    ctx.log('cost-timeline', { n, ...side.timeline });
    if (conv === null) {
      ctx.log('cost-not-converged', { n, stragglers: stragglers(pool, n, t0) });
    }
    ctx.log('cost-converged', { n, ms: side.convergeMs });
    if (ctx.quick) await sleep(2000);
    else {
      const settled = await settle(pool, conv ?? Date.now(), settleMs);
      side.timeline.settledMs = settled;
      ctx.log('cost-settled', { n, ...settled });
    }
    side.idle = await idleWindow({
      wire,
      label: OURS,
      agents: n,
      pids: pool.agents.map((a) => a.child.pid ?? 0),
      connections: { ips: pool.agents.map((a) => a.ip), port: P2P_PORT },
      windowMs: ctx.quick ? 10_000 : 30_000,
    });
    ctx.log('cost-idle', { n, ...brief(side.idle) });
    for (let r = 0; r < kills && pool.alive.length > 2; r++) {
      const alive = pool.alive;
      const victim = alive[1 + Math.floor(Math.random() * (alive.length - 1))];
      if (!victim) break;
      const at = await pool.kill(victim);
      const observers = pool.alive.map((a) => a.id);
      const last = (type: string) => {
        const times = pool.tracker.firstEvent(observers, type, victim.peerId, at);
        return times.every((x) => x !== null) ? Math.max(...(times as number[])) : null;
      };
      const deadAt = await pool.until(() => last('member-dead'), 30_000);
      const suspectAt = last('member-suspect');
      ctx.log('cost-kill', { n, rep: r, deadMs: deadAt && deadAt - at, suspectMs: suspectAt && suspectAt - at });
      if (deadAt !== null) side.killMs.push(deadAt - at);
      else {
        const times = pool.tracker.firstEvent(observers, 'member-dead', victim.peerId, at);
        side.missed.push({ rep: r, victim: victim.id, notMarkedDeadBy: observers.filter((_, i) => times[i] === null) });
      }
      if (suspectAt !== null) side.suspectMs.push(suspectAt - at);
      await sleep(2000);
    }
  } finally {
    await pool.close();
  }
  return side;
}

/** Agents that see fewer than n, with how many see them and the membership failures they logged. */
function stragglers(pool: ProcPool, n: number, t0: number) {
  const ids = pool.agents.map((a) => a.id);
  return pool.agents
    .map((a) => ({
      id: a.id,
      sees: pool.tracker.aliveSeenBy(a.id),
      seenBy: pool.tracker.seenAliveBy(ids, a.peerId),
      startedMs: a.startedAt - t0,
      failures: a.logs.length,
      lastFailures: a.logs.slice(-3).map((l) => ({ ...l, at: (l.at as number) - t0 })),
    }))
    .filter((s) => s.sees < n)
    .slice(0, 20);
}
