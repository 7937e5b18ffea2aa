import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPool } from '../shared/config/load.ts';
import { createLocalRemoter, type LocalInstanceRecord } from '../shared/remoter/local.ts';
import type { RemoterBase } from '../shared/remoter/types.ts';
import type { LeaderDetail, ScalingDecision } from '../shared/wire/cluster.ts';
import { localUsing, oneCloudPool, queueDrivenFields } from './fixtures/pool-source.ts';
import { killMatching, pidsMatching } from './fixtures/procs.ts';
import { quickScaling } from './fixtures/quick-scaling.ts';
import { runCli } from './fixtures/run-cli.ts';
import { decisionsOf, waitForHeldAtBound } from './fixtures/scaling-watch.ts';
import { waitFor } from './fixtures/wait.ts';

/**
 * The self-scaling pool for real: agent processes on loopback, the local remoter base, a custom
 * metric the test drives through a file. The count is sampled continuously from the provider.
 */
const CLI = resolve('bin/poolparty.mjs');
const MIN = 2;
const MAX = 4;
let dir: string;
let config: string;
let stateDir: string;
let queueFile: string;
let drainedFile: string;
let remoter: RemoterBase;
let sampling = true;
let maxSeen = 0;
const samples: number[] = [];
let sampler: Promise<void>;
const { POOLPARTY_AGENT_BIN: _ignored, ...env } = process.env;

async function running(): Promise<LocalInstanceRecord[]> {
  const all = (await remoter.list({ pool: 'scale', cloud: 'web' })) as LocalInstanceRecord[];
  return all.filter((i) => i.state === 'running' || i.state === 'pending');
}

async function json<T>(url: string): Promise<T> {
  const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return (await r.json()) as T;
}

async function leader(): Promise<{ leader: LeaderDetail; instance: LocalInstanceRecord }> {
  return waitFor(
    'a leader',
    async () => {
      for (const inst of await running()) {
        const l = await json<LeaderDetail>(`${inst.monitor}/leader`).catch(() => null);
        if (!l) continue;
        const all = await running();
        const view = await json<{ members: { peerId: string; instanceId: string }[] }>(`${inst.monitor}/cluster`);
        const id = view.members.find((m) => m.peerId === l.peerId)?.instanceId;
        const instance = all.find((i) => i.id === id);
        if (instance) return { leader: l, instance };
      }
      return null;
    },
    { timeoutMs: 15_000 },
  );
}

/** Decisions recorded by every live node (leadership may have moved), oldest first. */
const monitors = async () => (await running()).flatMap((i) => (i.monitor ? [i.monitor] : []));

async function decisions(): Promise<ScalingDecision[]> {
  return decisionsOf(await monitors());
}

/** Every running instance's monitor sees `n` alive members. */
async function converged(n: number): Promise<boolean> {
  const all = await running();
  if (all.length !== n) return false;
  const views = await Promise.all(
    all.map((i) => json<{ members: { state: string }[] }>(`${i.monitor}/cluster`).catch(() => null)),
  );
  return views.every((v) => v !== null && v.members.filter((m) => m.state === 'alive').length === n);
}

function launchTokens(records: LocalInstanceRecord[]): string[] {
  return records.map((r) => r.tags['poolparty:token'] ?? '');
}

describe('self-scaling pool (real agents, local remoter)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-scale-'));
    stateDir = join(dir, 'state');
    config = join(dir, 'clouds.ts');
    queueFile = join(dir, 'queue');
    drainedFile = join(dir, 'drained');
    await writeFile(queueFile, '0\n');
    const scaling = quickScaling({ beforeTerminate: `{ command: 'echo "$PPID" >> ${drainedFile}', timeout: '2s' }` });
    await writeFile(
      config,
      oneCloudPool({
        name: 'scale',
        cloud: 'web',
        provider: 'local',
        using: localUsing(),
        min: MIN,
        max: MAX,
        fields: queueDrivenFields(queueFile, scaling),
      }),
    );
    remoter = createLocalRemoter({ pool: await loadPool(config), cloud: 'web', stateDir });
    const boot = await runCli(
      [CLI, 'bootstrap', '-c', config, '--state-dir', stateDir, '--timeout', '45s', '--json'],
      env,
    );
    expect(boot.code, boot.stderr).toBe(0);
    // The instance count is sampled all along (a cadence, not a wait): never above max (I1).
    sampler = (async () => {
      while (sampling) {
        const n = (await running().catch(() => [])).length;
        samples.push(n);
        maxSeen = Math.max(maxSeen, n);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  });

  afterAll(async () => {
    sampling = false;
    await sampler;
    if (!dir) return;
    await runCli([CLI, 'terminate', '-c', config, '--state-dir', stateDir, '--yes', '--json'], env).catch(
      () => undefined,
    );
    await killMatching(stateDir);
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  it('elects one leader that every member agrees on', async () => {
    const { leader: l } = await leader();
    for (const inst of await running()) {
      await waitFor('agreement', async () => (await json<LeaderDetail>(`${inst.monitor}/leader`)).peerId === l.peerId);
    }
    expect(l.term).toBeGreaterThanOrEqual(1);
  });

  it('expands step by step to max under sustained load, and never above', async () => {
    const loaded = Date.now();
    await writeFile(queueFile, '50\n');
    await waitFor(`${MAX} instances alive`, () => converged(MAX), { timeoutMs: 60_000, everyMs: 200 });
    // Keep the load up while the leader evaluates it again and again: the pool must stay at max.
    await waitForHeldAtBound(monitors, 'expand', { since: loaded });
    expect((await running()).length).toBe(MAX);
    expect(maxSeen).toBe(MAX);
    const expands = (await decisions()).filter((d) => d.action === 'expand');
    expect(expands.length).toBeGreaterThanOrEqual(MAX - MIN);
    expect(expands.every((d) => d.count === 1 && d.result === 'ok')).toBe(true);
    const blocked = (await decisions()).filter((d) => d.blocked === 'at-max');
    expect(blocked.length).toBeGreaterThanOrEqual(1);
    // Every launch the leader made had its own token (bootstrap launched `min` under one).
    const tokens = launchTokens(await running()).filter((t) => !t.startsWith('bootstrap-'));
    expect(tokens).toHaveLength(MAX - MIN);
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('contracts to min when the metric drops, draining victims before terminating them', async () => {
    const unloaded = Date.now();
    await writeFile(queueFile, '0\n');
    await waitFor(`${MIN} instances alive`, () => converged(MIN), { timeoutMs: 60_000, everyMs: 200 });
    const drained = (await readFile(drainedFile, 'utf8')).trim().split('\n');
    expect(drained).toHaveLength(MAX - MIN);
    const contracts = await waitFor('the contractions in the leader decisions', async () => {
      const found = (await decisions()).filter((d) => d.action === 'contract');
      return found.length >= MAX - MIN ? found : null;
    });
    expect(contracts.every((d) => d.result === 'ok' && d.targets?.length === 1)).toBe(true);
    await waitForHeldAtBound(monitors, 'contract', { since: unloaded });
    expect((await running()).length).toBe(MIN);
  });

  it('replaces a killed non-leader that takes the pool below min', async () => {
    const { instance: leaderInstance } = await leader();
    const victim = (await running()).find((i) => i.id !== leaderInstance.id);
    if (!victim) throw new Error('no non-leader');
    process.kill(victim.pid!, 'SIGKILL');
    await waitFor('victim gone from the provider', async () => !(await running()).some((i) => i.id === victim.id));
    await waitFor(`back to ${MIN} alive`, () => converged(MIN), { timeoutMs: 60_000, everyMs: 200 });
    const replaced = (await decisions()).filter((d) => d.action === 'expand' && d.reason.startsWith('below min'));
    expect(replaced.length).toBeGreaterThanOrEqual(1);
  });

  it('after kill -9 of the leader mid-cooldown: one new leader, cooldown honoured, no duplicate launch', async () => {
    const phaseStart = Date.now();
    await writeFile(queueFile, '50\n');
    // Wait for the first expansion of this phase, then kill the leader inside its cooldown.
    await waitFor('first expansion', async () => (await running()).length === MIN + 1, { timeoutMs: 20_000 });
    const old = await leader();
    // When that expansion started, as every member recorded it from the leader's gossip.
    const expandedAt = await waitFor('the expansion in a follower ledger', async () => {
      for (const i of await running()) {
        if (i.id === old.instance.id) continue;
        const s = await json<{ cooldowns?: { expand: { last: number | null } } }>(`${i.monitor}/scaling`).catch(
          () => null,
        );
        const last = s?.cooldowns?.expand.last ?? null;
        if (last !== null && last >= phaseStart) return last;
      }
      return null;
    });
    process.kill(old.instance.pid!, 'SIGKILL');
    const next = await waitFor(
      'a new leader',
      async () => {
        const l = await leader().catch(() => null);
        return l && l.leader.peerId !== old.leader.peerId ? l : null;
      },
      { timeoutMs: 20_000 },
    );
    expect(next.leader.term).toBeGreaterThan(old.leader.term);
    await waitFor(`${MAX} alive under the new leader`, () => converged(MAX), { timeoutMs: 60_000, everyMs: 200 });
    // The new leader waited out the cooldown the old one started.
    // The first expansion under a later term (under heavy load leadership may move again).
    const firstByNew = await waitFor(
      'an expansion by a new leader in its decisions',
      async () =>
        (await decisions()).find((d) => d.action === 'expand' && d.term > old.leader.term && d.result === 'ok'),
      { timeoutMs: 30_000 },
    );
    // Cooldown is 1.5 s from the old leader's intent.
    expect((firstByNew?.at ?? 0) - expandedAt).toBeGreaterThanOrEqual(1500);
    // No two launches share a token, and the pool never went past max.
    const records = (await remoter.list({ pool: 'scale', cloud: 'web' })) as LocalInstanceRecord[];
    const byToken = new Map<string, number>();
    for (const r of records.filter((x) => !x.tags['poolparty:token']?.startsWith('bootstrap-'))) {
      const token = r.tags['poolparty:token'] ?? r.id;
      byToken.set(token, (byToken.get(token) ?? 0) + 1);
      // Tagged with the term and action that launched it.
      expect(Number(r.tags['poolparty:term'])).toBeGreaterThanOrEqual(1);
      expect(Number(r.tags['poolparty:action'])).toBeGreaterThanOrEqual(1);
    }
    expect(byToken.size).toBeGreaterThanOrEqual(2);
    expect([...byToken.values()].every((n) => n === 1)).toBe(true);
    expect(maxSeen).toBeLessThanOrEqual(MAX);
    expect(samples.length).toBeGreaterThan(50);
  });

  it('terminate leaves no agent process', async () => {
    await writeFile(queueFile, '0\n');
    const r = await runCli([CLI, 'terminate', '-c', config, '--state-dir', stateDir, '--yes', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    await waitFor('no agent left', () => pidsMatching(stateDir).length === 0, { timeoutMs: 10_000 });
  });
});
