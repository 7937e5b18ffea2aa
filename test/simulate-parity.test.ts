import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulateResult } from '../cli/commands/simulate.ts';
import { loadPool } from '../shared/config/load.ts';
import { createLocalRemoter, type LocalInstanceRecord } from '../shared/remoter/local.ts';
import type { RemoterBase } from '../shared/remoter/types.ts';
import type { ScalingDecision } from '../shared/wire/cluster.ts';
import { LocalPool } from './fixtures/local-pool.ts';
import { quickScaling } from './fixtures/quick-scaling.ts';
import { scalingOf, waitForHeldAtBound } from './fixtures/scaling-watch.ts';

/**
 * The parity check: one trace fed to a real local pool (agents reading the `queue` metric
 * from a file the test writes from the trace) and to `poolparty simulate` on the same clouds.ts;
 * both must take the same decisions (actions and counts; not timestamps, which a loaded machine
 * stretches). LocalPool runs 3..5 instances: one per expansion, two per contraction (3 → 4 → 5 → 3, twice).
 */
const T0 = Date.parse('2024-05-06T12:00:00Z');
/** [seconds into the trace, queue]: quiet, busy to max, neither, idle to min, busy again, idle. */
const TRACE: [number, number][] = [
  [0, 5],
  [3, 50],
  [18, 5],
  [23, 0],
  [43, 50],
  [58, 0],
  [78, 0],
];
let pool: LocalPool;
let queueFile: string;
let remoter: RemoterBase;
/** Every decision any node recorded, gathered all along (a node's log keeps only the last 50). */
const seen = new Map<string, ScalingDecision>();
let watching = true;
let watcher: Promise<void> | undefined;

async function monitors(): Promise<string[]> {
  const all = (await remoter.list({ pool: 'parity', cloud: 'web' })) as LocalInstanceRecord[];
  return all.filter((i) => i.state === 'running' && i.monitor).map((i) => i.monitor as string);
}

const actions = (ds: { action: string; count: number }[]) =>
  ds.filter((d) => d.action !== 'none').map((d) => `${d.action} ${d.count}`);

describe('simulate reproduces a real pool on the same trace', () => {
  beforeAll(async () => {
    pool = await LocalPool.create({
      name: 'parity',
      agent: 'real',
      // The metric file is relative: under the pool's state dir, where the test writes it.
      cloudFields: `metrics: { queue: { file: 'queue', every: '200ms' } },
      agent: { heartbeatInterval: '250ms' },
      scaling: ${quickScaling({ contractBy: '2' })},`,
    });
    queueFile = join(pool.stateDir, 'queue');
    await mkdir(pool.stateDir, { recursive: true });
    await writeFile(queueFile, `${TRACE[0]![1]}\n`);
    remoter = createLocalRemoter({ pool: await loadPool(pool.config), cloud: 'web', stateDir: pool.stateDir });
    const boot = await pool.cli('bootstrap', '-c', pool.config, '--timeout', '45s', '--json');
    expect(boot.code, boot.stderr).toBe(0);
    watcher = (async () => {
      while (watching) {
        for (const m of await monitors().catch(() => [])) {
          for (const d of (await scalingOf(m))?.decisions ?? [])
            seen.set(`${d.term}/${d.at}/${d.action}/${d.token ?? ''}`, d);
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
  });

  afterAll(async () => {
    watching = false;
    await watcher;
    await pool?.cleanup();
  });

  it('takes the decisions the live leader took', { timeout: 300_000 }, async () => {
    const traceFile = join(pool.dir, 'trace.csv');
    const rows = TRACE.map(([s, v]) => `${new Date(T0 + s * 1000).toISOString()},queue,${v}`);
    await writeFile(traceFile, ['time,metric,value', ...rows, ''].join('\n'));

    // The live pool: each value is written when its time comes. A busy or idle phase is held
    // until the leader has reached the bound and declined to act for a few evaluations, so a
    // loaded machine stretches the phase instead of cutting its decisions short.
    for (let i = 0; i < TRACE.length - 1; i++) {
      const [at, queue] = TRACE[i]!;
      const phaseStart = Date.now();
      await writeFile(queueFile, `${queue}\n`);
      await new Promise((r) => setTimeout(r, (TRACE[i + 1]![0] - at) * 1000));
      if (queue > 10) await waitForHeldAtBound(monitors, 'expand', { since: phaseStart, timeoutMs: 90_000 });
      if (queue < 1) await waitForHeldAtBound(monitors, 'contract', { since: phaseStart, timeoutMs: 90_000 });
    }
    const live = [...seen.values()].sort((a, b) => a.at - b.at);

    const sim = await pool.cli(
      'simulate',
      '-c',
      pool.config,
      '--trace',
      traceFile,
      '--launch-time',
      '2s',
      '--apply-time',
      '0s',
      '--json',
    );
    expect(sim.code, sim.stderr).toBe(0);
    const simulated = (JSON.parse(sim.stdout) as SimulateResult).result.decisions;

    // On a mismatch the message lists every action with its reason and count, so a failure
    // on a loaded runner says which round acted and on what it counted.
    const told = live
      .filter((d) => d.action !== 'none')
      .map(
        (d) =>
          `${d.action} ${d.count} term ${d.term} at ${d.instances}: ${d.reason} → ${d.result ?? '?'} ${d.error ?? ''}`,
      )
      .join('\n');
    expect(actions(live), told).toEqual(['expand 1', 'expand 1', 'contract 2', 'expand 1', 'expand 1', 'contract 2']);
    expect(actions(simulated)).toEqual(actions(live));
    // Both declined to pass the bounds while the rules still held.
    for (const ds of [live, simulated]) {
      expect(ds.some((d) => d.blocked === 'at-max')).toBe(true);
      expect(ds.some((d) => d.blocked === 'at-min')).toBe(true);
    }
  });
});
