import { join } from 'node:path';
import type { BenchContext, ScenarioResult } from '../lib/context.ts';
import { machine } from '../lib/context.ts';
import { ProcPool } from '../lib/procpool.ts';
import { type ProcSample, rates, sampleProc, sleep } from '../lib/procs.ts';
import { SerfPool } from '../lib/serf.ts';
import { IDLE_SETTLE_MS, settle } from '../lib/settle.ts';
import { percentile, ratio, type Summary, summarize } from '../lib/stats.ts';

interface Footprint {
  rssMb: number[];
  cpuPct: number[];
  wcharPerS: number[];
  gossipPerS: number[];
}

async function window(pids: number[], ms: number, bytes?: () => Promise<Array<number | null>>): Promise<Footprint> {
  // The /metrics reads stay outside the CPU window: each is a render the agent would not do idle.
  const ga = bytes ? await bytes() : [];
  const a = pids.map(sampleProc);
  await sleep(ms);
  const b = pids.map(sampleProc);
  const gb = bytes ? await bytes() : [];
  const out: Footprint = { rssMb: [], cpuPct: [], wcharPerS: [], gossipPerS: [] };
  pids.forEach((_, i) => {
    const x = a[i] as ProcSample | null;
    const y = b[i] as ProcSample | null;
    if (!x || !y) return;
    const r = rates(x, y);
    out.rssMb.push(y.rssBytes / 2 ** 20);
    out.cpuPct.push(r.cpuPct);
    if (r.wcharPerS !== null) out.wcharPerS.push(r.wcharPerS);
    const g0 = ga[i];
    const g1 = gb[i];
    if (g0 != null && g1 != null) out.gossipPerS.push(((g1 - g0) * 1000) / (y.atMs - x.atMs));
  });
  return out;
}

/**
 * One agent per process, N = 10: idle footprint (RSS, CPU % of one core over a window, gossip
 * bytes/s from /metrics and all bytes written/s from /proc), then false deaths under a 2 s local
 * stall, then kill -9 failure detection. Serf's footprint is measured the same way.
 */
export async function processScenarios(ctx: BenchContext, n: number, reps: number): Promise<ScenarioResult[]> {
  const settleMs = ctx.quick ? 2000 : 5000;
  const windowMs = ctx.quick ? 5000 : 10_000;
  const pool = new ProcPool({
    dir: join(ctx.dir, 'procs'),
    script: ctx.build.agent,
    loopback: ctx.loopback,
    nodeFlags: ctx.nodeFlags,
  });
  let ours: Footprint | null = null;
  const falseDeaths: number[] = [];
  const stallDetail: unknown[] = [];
  const killDead: number[] = [];
  let error: string | undefined;
  let settled: { ms: number; quiet: boolean } | null = null;
  try {
    const t0 = await pool.start(n);
    const ids = pool.agents.map((a) => a.id);
    const conv = await pool.until(() => pool.tracker.convergedAt(ids), 45_000);
    ctx.log('process-pool-converged', { n, ms: conv && conv - t0 });
    if (conv === null) throw new Error(`process pool of ${n} did not converge within 45 s`);
    // A full run waits as idle-cost does (35 s, then a quiet pool): 5 s after convergence the
    // join's follow-up syncs and extra connections were still running (idle CPU 2.4 % here against
    // idle-cost's 0.97 % for the same N in the same run; 1.7 % after 21 s, 2026-12-07). Quick
    // keeps CI short.
    if (ctx.quick) await sleep(settleMs);
    else settled = await settle(pool, conv, IDLE_SETTLE_MS);
    ours = await window(
      pool.agents.map((a) => a.child.pid ?? 0),
      windowMs,
      () => Promise.all(pool.agents.map((a) => pool.gossipBytes(a))),
    );
    ctx.log('footprint', summarizeFootprint(ours));

    const healthy = new Set(pool.agents.map((a) => a.peerId));
    for (let r = 0; r < reps; r++) {
      const victim = pool.agents[1 + (r % (pool.agents.length - 1))];
      if (!victim) break;
      const stall = await pool.stall(victim);
      if (!stall) throw new Error('stall did not report back within 15 s');
      // Long enough for any peer's deadAfter (5 s) to pass after the stall.
      await sleep(Math.max(0, stall.to + 7000 - Date.now()));
      const marks = pool.tracker.eventsAbout(healthy, new Set(['member-dead', 'member-suspect']), stall.from);
      const dead = marks.filter((m) => m.type === 'member-dead');
      falseDeaths.push(dead.length);
      const d = {
        rep: r,
        stalledMs: stall.to - stall.from,
        deadMarks: dead.length,
        suspectMarks: marks.length - dead.length,
        byStalled: marks.filter((m) => m.by === victim.id).length,
        ofStalled: marks.filter((m) => m.peerId === victim.peerId).length,
      };
      stallDetail.push(d);
      ctx.log('false-deaths', d);
    }

    for (let r = 0; r < (ctx.quick ? 1 : 2); r++) {
      const alive = pool.alive;
      const victim = alive[alive.length - 1 - r];
      if (!victim || alive.length < 3) break;
      const at = await pool.kill(victim);
      const observers = pool.alive.map((a) => a.id);
      const deadAt = await pool.until(() => {
        const times = pool.tracker.firstEvent(observers, 'member-dead', victim.peerId, at);
        return times.every((x) => x !== null) ? Math.max(...(times as number[])) : null;
      }, 30_000);
      ctx.log('failure-detection-process', { n, rep: r, ms: deadAt && deadAt - at });
      if (deadAt !== null) killDead.push(deadAt - at);
    }
  } catch (err) {
    error = (err as Error).message;
  } finally {
    await pool.close();
  }

  let serf: Footprint | null = null;
  if (ctx.serf) {
    const s = new SerfPool(ctx.loopback);
    try {
      await s.prepare();
      s.startRest(n);
      await s.sampleUntil(s.nodes, (m) => m.filter((x) => x.status === 'alive').length === n, 30_000);
      await sleep(settleMs);
      serf = await window(s.pids, windowMs);
      ctx.log('footprint-serf', summarizeFootprint(serf));
    } finally {
      await s.close();
    }
  }

  const base = {
    machine: machine(),
    ...(error ? { error } : {}),
  };
  const params = { n, mode: 'process', windowMs, settleMs, ...(settled ? { settled } : {}) };
  const row = (
    scenario: string,
    target: string,
    unit: string,
    mine: Summary,
    theirs: Summary | null,
    detail: Record<string, unknown>,
  ): ScenarioResult => ({
    scenario,
    parameters: params,
    ...mine,
    unit,
    target,
    serf: theirs,
    ratio: ratio(mine.median, theirs?.median ?? null),
    detail,
    ...base,
  });
  const fp = ours ?? { rssMb: [], cpuPct: [], wcharPerS: [], gossipPerS: [] };
  return [
    row('idle-rss', '<= 64 MB', 'MB', summarize(fp.rssMb, 1), serf && summarize(serf.rssMb, 1), {
      anchor: 'Serf 5-10 MB RSS',
    }),
    row('idle-cpu', '<= 1 % of a core', '% of one core', summarize(fp.cpuPct, 2), serf && summarize(serf.cpuPct, 2), {
      source: '/proc/<pid>/stat utime+stime over the window',
    }),
    row('idle-gossip-bytes', '<= 2 kB/s per node', 'bytes/s', summarize(fp.gossipPerS), null, {
      source: 'poolparty_gossip_bytes_total (in+out payload) from each /metrics: not the wire (see idle-cost)',
      // write()/writev() bytes from /proc/<pid>/io: gossipsub framing, forwarding, signatures, pnet
      // and noise included. Not comparable with Serf, whose UDP sendto() is not counted there.
      allBytesWrittenPerS: summarize(fp.wcharPerS),
    }),
    {
      ...row('false-deaths-under-stall', '0 healthy peers marked dead', 'dead marks', summarize(falseDeaths), null, {
        stalls: stallDetail,
        anchor: 'memberlist Lifeguard',
      }),
      parameters: { ...params, stallMs: 2000, reps },
    },
    {
      ...row('failure-detection', '<= 3000 ms', 'ms', summarize(killDead), null, {
        note: 'Serf counterpart: the in-process failure-detection row at the same N',
      }),
      parameters: { ...params, crash: 'kill -9', reps: killDead.length },
    },
  ];
}

function summarizeFootprint(f: Footprint) {
  return {
    rssMb: percentile(f.rssMb, 50),
    cpuPct: percentile(f.cpuPct, 50),
    gossipPerS: percentile(f.gossipPerS, 50),
    wcharPerS: percentile(f.wcharPerS, 50),
  };
}
