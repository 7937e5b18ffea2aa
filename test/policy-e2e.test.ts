import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPool } from '../shared/config/load.ts';
import { createLocalRemoter, type LocalInstanceRecord } from '../shared/remoter/local.ts';
import type { RemoterBase } from '../shared/remoter/types.ts';
import type { PolicyVerdict } from '../shared/scaling/step.ts';
import type { ScalingDecision } from '../shared/wire/cluster.ts';
import { killMatching, pidsMatching, randomLoopbackBase } from './fixtures/procs.ts';
import { runCli } from './fixtures/run-cli.ts';
import { decisionsOf, scalingOf } from './fixtures/scaling-watch.ts';
import { waitFor } from './fixtures/wait.ts';

/**
 * The scaling policies on real agents (local remoter, loopback): one pool with a schedule window,
 * a target on metric `q` and steps on metric `s`, both custom metrics read from files the test
 * writes. Each phase drives one policy and checks the leader's decision names it.
 */
const CLI = resolve('bin/poolparty.mjs');
const { POOLPARTY_AGENT_BIN: _ignored, ...env } = process.env;
let dir: string;
let config: string;
let stateDir: string;
let remoter: RemoterBase;
let windowStart: number;

const write = (metric: 'q' | 's', value: number) => writeFile(join(dir, metric), `${value}\n`);

async function running(): Promise<LocalInstanceRecord[]> {
  const all = (await remoter.list({ pool: 'policies', cloud: 'web' })) as LocalInstanceRecord[];
  return all.filter((i) => i.state === 'running' || i.state === 'pending');
}

async function decisions(): Promise<ScalingDecision[]> {
  return decisionsOf((await running()).flatMap((i) => (i.monitor ? [i.monitor] : [])));
}

/** Every running instance's monitor sees `n` alive members. */
async function settledAt(n: number): Promise<boolean> {
  const all = await running();
  if (all.length !== n) return false;
  const views = await Promise.all(
    all.map(async (i) => {
      const r = await fetch(`${i.monitor}/cluster`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
      return r?.ok ? ((await r.json()) as { members: { state: string }[] }) : null;
    }),
  );
  return views.every((v) => v !== null && v.members.filter((m) => m.state === 'alive').length === n);
}

/** The first decision since `since` that acted (ok) and matches. */
async function acted(what: string, match: (d: ScalingDecision) => boolean, since: number): Promise<ScalingDecision> {
  return waitFor(what, async () => (await decisions()).find((d) => d.at >= since && d.result === 'ok' && match(d)), {
    timeoutMs: 90_000,
    everyMs: 250,
  });
}

describe('scaling policies on a real local pool', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-policies-'));
    stateDir = join(dir, 'state');
    config = join(dir, 'clouds.ts');
    await write('q', 10);
    await write('s', 3);
    // The window opens at the next whole minute at least 20 s away (UTC), and stays 10 minutes.
    windowStart = Math.ceil((Date.now() + 20_000) / 60_000) * 60_000;
    const open = new Date(windowStart);
    const cron = `${open.getUTCMinutes()} ${open.getUTCHours()} * * *`;
    await writeFile(
      config,
      `import { definePool, local } from 'poolparty';
export default definePool({
  name: 'policies',
  clouds: {
    web: {
      instances: { min: 1, max: 5 },
      using: local({ firstAddress: '${randomLoopbackBase()}' }),
      metrics: {
        q: { file: ${JSON.stringify(join(dir, 'q'))}, every: '200ms' },
        s: { file: ${JSON.stringify(join(dir, 's'))}, every: '200ms' },
      },
      agent: { heartbeatInterval: '250ms' },
      scaling: {
        target: { metric: 'q', value: 10, scaleInStabilization: '2s' },
        steps: [{ metric: 's', above: 5, add: 2 }, { metric: 's', below: 1, remove: '50%' }],
        schedule: [{ cron: '${cron}', timezone: 'UTC', min: 3, for: '10m' }],
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

  it('schedule: when the window opens, min rises to 3 and the leader expands for it', {
    timeout: 180_000,
  }, async () => {
    const d = await acted('an expansion for the schedule window', (x) => x.policy === 'schedule', windowStart);
    expect(d).toMatchObject({ action: 'expand', reason: expect.stringMatching(/^below min: \d < 3$/) });
    await waitFor('3 alive', () => settledAt(3), { timeoutMs: 90_000, everyMs: 250 });
    const snapshot = (await scalingOf((await running())[0]!.monitor!)) as { bounds?: unknown } | null;
    expect(snapshot?.bounds).toEqual({ min: 3, max: 5 });
  });

  it('target: the pool is sized by the ratio in one decision, up to max', { timeout: 180_000 }, async () => {
    const since = Date.now();
    // Members sample the file at their own moments, so the leader may first see one at 40 and two
    // at 10: even then (avg 20) 3 × 20 / 10 = 6 > max 5, so the decision is two at once.
    await write('q', 40);
    const d = await acted('an expansion by the target', (x) => x.policy === 'target', since);
    expect(d).toMatchObject({ action: 'expand', count: 2 });
    expect(d.reason).toMatch(/^avg\(q\) [\d.]+ vs target 10: 3 → \d+$/);
    expect(d.policies?.map((p) => p.policy)).toEqual(['target', 'steps', 'schedule']);
    await write('q', 10);
    await waitFor('5 alive', () => settledAt(5), { timeoutMs: 90_000, everyMs: 250 });
  });

  it('steps: scale-in waits until every policy agrees, then goes by the most cautious', {
    timeout: 180_000,
  }, async () => {
    const since = Date.now();
    // The target asks for 0 once its 2 s scale-in window has passed, but the steps, with s between
    // their thresholds, hold 5: no contraction.
    await write('q', 0);
    const verdicts = await waitFor(
      "the leader's verdicts: target 0, steps holding 5",
      async () => {
        for (const i of await running()) {
          const s = (await scalingOf(i.monitor!)) as { leading?: boolean; policies?: PolicyVerdict[] } | null;
          const want = (name: string) => s?.policies?.find((p) => p.policy === name)?.desired;
          if (s?.leading && want('target') === 0 && want('steps') === 5) return s.policies;
        }
        return null;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    expect(verdicts.find((p) => p.policy === 'steps')?.why).toBe('avg(s) 3: no step applies');
    expect((await decisions()).filter((x) => x.at >= since && x.action === 'contract')).toEqual([]);
    expect((await running()).length).toBe(5);
    // Now the steps agree (remove 50 % of 5, rounded up: 3): the larger size, 2, wins over the
    // target's 0, and the schedule's min 3 bounds it to two instances.
    await write('s', 0);
    const d = await acted('a contraction by the steps', (x) => x.action === 'contract', since);
    expect(d).toMatchObject({ policy: 'steps', count: 2 });
    expect(d.reason).toMatch(/^avg\(s\) [\d.]+ below 1: remove 3$/);
    await waitFor('3 alive', () => settledAt(3), { timeoutMs: 90_000, everyMs: 250 });
  });

  it('terminate leaves no agent process', { timeout: 60_000 }, async () => {
    const r = await runCli([CLI, 'terminate', '-c', config, '--state-dir', stateDir, '--yes', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    await waitFor('no agent left', () => pidsMatching(stateDir).length === 0, { timeoutMs: 10_000 });
  });
});
