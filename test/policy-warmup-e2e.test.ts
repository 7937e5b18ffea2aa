import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPool } from '../shared/config/load.ts';
import { createLocalRemoter, type LocalInstanceRecord } from '../shared/remoter/local.ts';
import type { RemoterBase } from '../shared/remoter/types.ts';
import type { PolicyVerdict } from '../shared/scaling/step.ts';
import { killMatching, pidsMatching, randomLoopbackBase } from './fixtures/procs.ts';
import { runCli } from './fixtures/run-cli.ts';
import { decisionsOf, scalingOf } from './fixtures/scaling-watch.ts';
import { waitFor } from './fixtures/wait.ts';

/**
 * Warm-up on real agents: each member reports its own `c` (a command reading a file in its
 * instance directory, 0 while the file is missing, as a fresh node's idle CPU). The old members
 * run at the target; two fresh ones report 0 and must not drag the average into a scale-in until
 * their warm-up is over.
 */
const CLI = resolve('bin/poolparty.mjs');
const WARMUP_MS = 30_000;
const { POOLPARTY_AGENT_BIN: _ignored, ...env } = process.env;
let dir: string;
let config: string;
let stateDir: string;
let remoter: RemoterBase;

async function running(): Promise<LocalInstanceRecord[]> {
  const all = (await remoter.list({ pool: 'warm', cloud: 'web' })) as LocalInstanceRecord[];
  return all.filter((i) => i.state === 'running' || i.state === 'pending');
}

/** Writes `value` as the `c` metric of each of `instances` (its agent runs in its directory). */
async function report(instances: LocalInstanceRecord[], value: number): Promise<void> {
  await Promise.all(instances.map((i) => writeFile(join(dirname(i.logFile), 'c'), `${value}\n`)));
}

const monitors = async () => (await running()).flatMap((i) => (i.monitor ? [i.monitor] : []));

interface Snapshot {
  leading?: boolean;
  policies?: PolicyVerdict[];
  counted?: { warming: string[]; stale: number };
}

async function leaderScaling(): Promise<Snapshot | null> {
  for (const m of await monitors()) {
    const s = (await scalingOf(m)) as Snapshot | null;
    if (s?.leading) return s;
  }
  return null;
}

describe('warm-up on a real local pool', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-warm-'));
    stateDir = join(dir, 'state');
    config = join(dir, 'clouds.ts');
    await writeFile(
      config,
      `import { definePool, local } from 'poolparty';
export default definePool({
  name: 'warm',
  clouds: {
    web: {
      instances: { min: 2, max: 4 },
      using: local({ firstAddress: '${randomLoopbackBase()}' }),
      metrics: { c: { command: 'cat c 2>/dev/null || echo 0', every: '250ms' } },
      agent: { heartbeatInterval: '250ms' },
      scaling: {
        target: { metric: 'c', value: 50, scaleInStabilization: '1s' },
        warmup: '${WARMUP_MS / 1000}s',
        cooldown: { expand: '1s', contract: '1s' },
        minimumRuntime: '0s',
        victim: 'newest',
        joinTimeout: '30s',
        drainTimeout: '3s',
        interval: '250ms',
      },
    },
  },
});
`,
    );
    remoter = createLocalRemoter({ pool: await loadPool(config), cloud: 'web', stateDir });
    const boot = await runCli(
      [CLI, 'bootstrap', '-c', config, '--state-dir', stateDir, '--timeout', '45s', '--json'],
      env,
    );
    expect(boot.code, boot.stderr).toBe(0);
  });

  afterAll(async () => {
    if (!dir) return;
    await runCli([CLI, 'terminate', '-c', config, '--state-dir', stateDir, '--yes', '--json'], env).catch(
      () => undefined,
    );
    await killMatching(stateDir);
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  it("a fresh member's idle metric is left out until its warm-up is over", { timeout: 240_000 }, async () => {
    const old = await running();
    expect(old).toHaveLength(2);
    // Once the bootstrap members are warm, 100 against a target of 50 doubles the pool: two fresh
    // members join, reporting 0.
    await report(old, 100);
    await waitFor('4 instances', async () => (await running()).length === 4, { timeoutMs: 90_000, everyMs: 250 });
    const fresh = (await running()).filter((i) => !old.some((o) => o.id === i.id));
    await report(old, 50);
    // Counted, the fresh zeros would make the average 25 and the target ask for 2. Left out, the
    // old members' 50 is on target: hold 4.
    const held = await waitFor(
      'the leader leaving the fresh members out and holding 4',
      async () => {
        const s = await leaderScaling();
        const target = s?.policies?.find((p) => p.policy === 'target');
        const warming = s?.counted?.warming ?? [];
        return fresh.every((f) => warming.includes(f.id)) && target?.desired === 4 ? s : null;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    expect(held.policies?.find((p) => p.policy === 'target')?.why).toBe('avg(c) 50 is within ±10% of target 50');
    const since = Date.now();
    expect((await decisionsOf(await monitors())).filter((d) => d.action === 'contract')).toEqual([]);
    // After their warm-up the zeros count: the target asks for ceil(4 × 25 / 50) = 2 (via 3 when
    // one fresh member's warm-up ends a moment before the other's).
    const contract = await waitFor(
      'a contraction once the fresh members count',
      async () => (await decisionsOf(await monitors())).find((d) => d.action === 'contract' && d.at >= since),
      { timeoutMs: 90_000, everyMs: 250 },
    );
    expect(contract.policy).toBe('target');
    expect(contract.reason).toMatch(/^avg\(c\) [\d.]+ vs target 50: 4 → [23]/);
    await waitFor('back to 2', async () => (await running()).length === 2, { timeoutMs: 90_000, everyMs: 250 });
  });

  it('terminate leaves no agent process', { timeout: 60_000 }, async () => {
    const r = await runCli([CLI, 'terminate', '-c', config, '--state-dir', stateDir, '--yes', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    await waitFor('no agent left', () => pidsMatching(stateDir).length === 0, { timeoutMs: 10_000 });
  });
});
