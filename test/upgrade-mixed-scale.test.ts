import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../shared/version.ts';
import type { ClusterView } from '../shared/wire/cluster.ts';
import type { RunningCli } from './fixtures/local-pool.ts';
import { queueDrivenFields } from './fixtures/pool-source.ts';
import { quickScaling } from './fixtures/quick-scaling.ts';
import { waitForHeldAtBound } from './fixtures/scaling-watch.ts';
import { waitFor } from './fixtures/wait.ts';
import { absent, withReadiness } from './helpers/upgrade-artifacts.ts';
import { UpgradePoolFixture } from './helpers/upgrade-pool-fixture.ts';
import { getJson, oneLeader, type UpgradeNodeView } from './helpers/upgrade-views.ts';

// Issue 19, mixed versions mid-rollout: old and new agents must gossip, elect AND scale together.
// A rollout is held in the middle on a real local pool: the new agent becomes ready only once the
// test removes a file, so the first member to restart runs it, joins and gossips, and its gate
// (10 min) keeps every other member on the old agent. Meanwhile the queue metric asks for one more
// instance: the leader launches it within the cloud's bounds (3 to 4), on the version it runs
// itself, and old and new agents alike see it join; then the pool contracts back to 3.
let fx: UpgradePoolFixture;
let ctl: string;
let queue: string;
let hold: string;
let push: RunningCli | undefined;
const V2 = `${VERSION}-mixed.2`;

const recorded = () => fx.pool.recorded();
const running = async () => (await recorded()).filter((i) => i.state === 'running');
const cluster = (m: string) => getJson<ClusterView>(`${m}/cluster`).catch(() => null);
const aliveVersions = (c: ClusterView | null) =>
  (c?.members ?? []).filter((m) => m.state === 'alive').map((m) => `${m.instanceId}@${m.version}`);

beforeAll(async () => {
  ctl = await mkdtemp(join(tmpdir(), 'poolparty-upms-ctl-'));
  queue = join(ctl, 'queue');
  hold = join(ctl, 'hold-ready');
  // Between the thresholds: neither rule holds until the test says so.
  await writeFile(queue, '5\n');
  await writeFile(hold, '');
  // The gate (10 min) is the cloud's upgradeGate tunable, not the push's --gate: a member judges its
  // trial by its own tunable today, whatever gate the push named.
  const fields = queueDrivenFields(queue, quickScaling()).map((f) =>
    f.startsWith('agent:') ? "agent: { heartbeatInterval: '250ms', upgradeGate: '10m' }" : f,
  );
  const cloudFields = fields.join(',\n');
  fx = await UpgradePoolFixture.start({ name: 'upms', min: 3, max: 4, cloudFields });
}, 600_000);

afterAll(async () => {
  push?.child.kill('SIGKILL');
  await fx?.stop();
  if (ctl) await rm(ctl, { recursive: true, force: true });
});

describe('old and new agents scale together in the middle of a rollout', () => {
  it('a held rollout: the leader expands within bounds, every agent sees the new instance, then contracts', {
    timeout: 600_000,
  }, async () => {
    const v2 = await fx.artifact('v2', { version: V2, bytes: withReadiness(await readFile(fx.built), absent(hold)) });
    await oneLeader(fx.monitors, 3);
    push = fx.pool.start(['upgrade', '-c', fx.pool.config, '--artifact', v2, '--yes', '--json']);

    // Mid-rollout: one member on the new agent, back in the pool and not ready; two on the old one.
    const mixed = await waitFor(
      'one member on the new agent and two on the old, all alive, seen by every node',
      async () => {
        const views = await Promise.all(fx.monitors.map(cluster));
        const seen = views.map((c) => aliveVersions(c).sort().join(' '));
        const one = seen[0] ?? '';
        const ok =
          seen.every((s) => s === one) &&
          one.split(' ').filter((s) => s.endsWith(`@${V2}`)).length === 1 &&
          one.split(' ').filter((s) => s.endsWith(`@${VERSION}`)).length === 2;
        return ok ? views : null;
      },
      { timeoutMs: 300_000, everyMs: 500 },
    );
    const newMember = mixed[0]?.members.find((m) => m.version === V2);
    const newMonitor = fx.monitors.find((m) => new URL(m).host === new URL(newMember?.monitor as string).host);
    expect((await getJson<UpgradeNodeView>(`${newMonitor}/upgrade`)).self).toMatchObject({ version: V2, ready: false });

    // Load: the leader launches one instance, no more (max 4), whichever version it runs.
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, (await running().catch(() => [])).length);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const before = new Set((await recorded()).map((i) => i.id));
    const since = Date.now();
    await writeFile(queue, '50\n');
    const added = await waitFor(
      'a new instance, alive in the view of every agent, old and new, and in its own',
      async () => {
        const fresh = (await running()).find((i) => !before.has(i.id) && i.monitor);
        if (!fresh) return null;
        const all = [...fx.monitors, fresh.monitor as string];
        const views = await Promise.all(all.map(cluster));
        const sees = (c: ClusterView | null) =>
          c?.members.some((m) => m.instanceId === fresh.id && m.state === 'alive');
        if (!views.every((c) => sees(c) && aliveVersions(c).length === 4)) return null;
        return { id: fresh.id, monitor: fresh.monitor as string, views };
      },
      { timeoutMs: 240_000, everyMs: 500 },
    );
    const all = [...fx.monitors, added.monitor];
    await waitForHeldAtBound(() => all, 'expand', { since, timeoutMs: 60_000 });
    sampling = false;
    await sampler;
    expect(most).toBe(4);
    expect(await running()).toHaveLength(4);

    // The leader launched it on the version the leader runs; the rollout is still held.
    const view = added.views[0] as ClusterView;
    const leaderVersion = view.members.find((m) => m.peerId === view.leader?.peerId)?.version;
    const addedVersion = view.members.find((m) => m.instanceId === added.id)?.version;
    expect(addedVersion).toBe(leaderVersion);
    const versions = aliveVersions(await cluster(added.monitor)).map((s) => s.split('@')[1]);
    expect(new Set(versions)).toEqual(new Set([VERSION, V2]));

    // No load: back to the minimum, the newest instance goes, old and new agents see it leave.
    await writeFile(queue, '0\n');
    await waitFor(
      'the pool back to 3, the added instance gone from every view',
      async () => {
        if ((await running()).length !== 3) return false;
        const views = await Promise.all(fx.monitors.map(cluster));
        return views.every((c) => c && !c.members.some((m) => m.instanceId === added.id && m.state === 'alive'));
      },
      { timeoutMs: 180_000, everyMs: 500 },
    );
    const after = await cluster(newMonitor as string);
    expect(aliveVersions(after).filter((s) => s.endsWith(`@${V2}`))).toHaveLength(1);
  });
});
