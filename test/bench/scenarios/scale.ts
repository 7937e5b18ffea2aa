import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext, ScenarioResult } from '../lib/context.ts';
import { machine } from '../lib/context.ts';
import { InprocPool } from '../lib/inproc.ts';
import { sleep } from '../lib/procs.ts';
import { summarize } from '../lib/stats.ts';

const RULE = 'max(queue) > 10 for 2s';
const SUSTAIN_MS = 2000;

/**
 * Scale reaction: the rule's sustain window ends → the leader's launch is issued. Every agent
 * reads a custom metric from one file (every 500 ms); the bench writes 100 to it, and the fake
 * remoter records when launch() is called. The window's end is the leader's own sustain start
 * (`since`, read from its scaler) + the rule's 2 s. Between repetitions the file goes back to 0
 * until the rule stops holding. Expand cooldown is 0 so each repetition may act.
 */
export async function scaleReaction(ctx: BenchContext, n: number, reps: number): Promise<ScenarioResult> {
  const reaction: number[] = [];
  const endToEnd: number[] = [];
  let error: string | undefined;
  const file = join(ctx.dir, 'queue');
  await writeFile(file, '0\n');
  const pool = new InprocPool({
    n,
    perHost: ctx.perHost,
    hostScript: ctx.build.host,
    dir: join(ctx.dir, `scale-${n}`),
    loopback: ctx.loopback,
    nodeFlags: ctx.nodeFlags,
    metrics: { queue: { kind: 'file', file, every: 500, timeout: 2000 } },
    scaling: { min: 1, max: 10_000, config: { expandWhen: RULE, cooldown: { expand: 0, contract: 180_000 } } },
    fake: { instances: Array.from({ length: n }, (_, i) => `bench-${i}`) },
  });
  try {
    await pool.prepare();
    await pool.startRest();
    if ((await pool.until(() => pool.tracker.convergedAt(pool.peers), 30_000)) === null) {
      throw new Error(`pool of ${n} did not converge within 30 s`);
    }
    const leader = await pool.until(() => pool.tracker.agreedLeader(pool.alivePeers, ''), 20_000);
    if (!leader) throw new Error('no leader within 20 s');
    for (let r = 0; r < reps; r++) {
      const wrote = Date.now();
      await writeFile(file, '100\n');
      let launchAt: number | null = null;
      for (let i = 0; i < 150 && launchAt === null; i++) {
        await sleep(100);
        launchAt = (await pool.launches()).find((l) => l.peerId === leader.peerId && l.at >= wrote)?.at ?? null;
      }
      const snap = await pool.scaling(leader.peerId);
      const since = snap?.rules.expand?.sustain.since ?? null;
      ctx.log('scale-reaction', {
        n,
        rep: r,
        launchAt,
        since,
        windowEnd: since && since + SUSTAIN_MS,
        ...(launchAt === null ? { leading: snap?.leading, decisions: snap?.decisions.slice(-3) } : {}),
      });
      if (launchAt !== null && since !== null) {
        reaction.push(launchAt - (since + SUSTAIN_MS));
        endToEnd.push(launchAt - wrote);
      }
      await writeFile(file, '0\n');
      for (let i = 0; i < 100; i++) {
        await sleep(100);
        if ((await pool.scaling(leader.peerId))?.rules.expand?.sustain.since === null) break;
      }
    }
  } catch (err) {
    error = (err as Error).message;
  } finally {
    await pool.close();
  }
  const mine = summarize(reaction);
  return {
    scenario: 'scale-reaction',
    parameters: { n, reps, rule: RULE, scalerIntervalMs: 1000, metricEveryMs: 500, mode: 'in-process' },
    ...mine,
    unit: 'ms',
    target: '<= 1000 ms',
    machine: machine(),
    serf: null,
    ratio: null,
    detail: {
      fileWriteToLaunch: summarize(endToEnd),
      launch: 'fake remoter launch() call time (in the leader process)',
      anchor: 'cluster-autoscaler <= 30 s SLO, ASG >= 3 min',
    },
    ...(error ? { error } : {}),
  };
}
