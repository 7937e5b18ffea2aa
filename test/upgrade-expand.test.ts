import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../shared/version.ts';
import type { ClusterView, HealthView } from '../shared/wire/cluster.ts';
import { waitFor } from './fixtures/wait.ts';
import { UpgradePoolFixture } from './helpers/upgrade-pool-fixture.ts';
import { getJson as get } from './helpers/upgrade-views.ts';

// Issue 19: after a rollout the leader runs the upgraded artifact out of its upgrade store, with no
// package above it. It must still launch (a lost member is replaced), and the new instance must run
// the version the pool runs now, not the one the pool was bootstrapped with.
let fx: UpgradePoolFixture;
let monitors: string[] = [];
let v2: string;
const V2 = `${VERSION}-expand.2`;

const recorded = () => fx.pool.recorded();

beforeAll(async () => {
  fx = await UpgradePoolFixture.start({ name: 'upgx', min: 3, max: 3 });
  monitors = fx.monitors;
  v2 = await fx.artifact('v2', { version: V2 });
}, 600_000);

afterAll(async () => {
  await fx?.stop();
});

describe('a local pool after an upgrade', () => {
  it('replaces a lost member with an agent on the upgraded version, launched by the upgraded leader', {
    timeout: 600_000,
  }, async () => {
    const r = await fx.cli('upgrade', '-c', fx.pool.config, '--artifact', v2, '--gate', '90s', '--yes', '--json');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const m of monitors) expect((await get<HealthView>(`${m}/health`)).version).toBe(V2);
    // A member that is not the leader is lost (its supervisor and agent killed outright).
    const leader = await waitFor(
      'a leader every node names',
      async () => {
        const views = await Promise.all(monitors.map((m) => get<ClusterView>(`${m}/cluster`).catch(() => null)));
        const named = new Set(views.map((v) => v?.leader?.peerId ?? null));
        const v = views[0];
        return named.size === 1 && v?.leader ? v.members.find((x) => x.peerId === v.leader?.peerId) : null;
      },
      { timeoutMs: 120_000, everyMs: 500 },
    );
    const before = await recorded();
    const victim = before.find((i) => i.state === 'running' && i.id !== leader.instanceId);
    expect(victim?.pid).toBeDefined();
    process.kill(-(victim?.pid as number), 'SIGKILL');
    // The leader replaces it: a new instance, launched by the leader, reporting V2.
    const known = new Set(before.map((i) => i.id));
    const added = await waitFor(
      'a new instance on the upgraded version',
      async () => {
        for (const i of await recorded()) {
          if (known.has(i.id) || i.state !== 'running' || !i.monitor) continue;
          const h = await get<HealthView>(`${i.monitor}/health`).catch(() => null);
          if (h) return { id: i.id, version: h.version };
        }
        return null;
      },
      { timeoutMs: 240_000, everyMs: 1000 },
    );
    expect(added.version).toBe(V2);
  });
});
