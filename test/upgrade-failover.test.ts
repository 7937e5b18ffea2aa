import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followEvents } from '../cli/monitor-client.ts';
import { pushUpgrade } from '../cli/upgrade/push.ts';
import { poolKeyFile } from '../shared/config/resolve.ts';
import { readUpgradeKey } from '../shared/upgrade/key.ts';
import { describeArtifact, signManifest } from '../shared/upgrade/manifest.ts';
import { VERSION } from '../shared/version.ts';
import type { PoolEvent, UpgradeEvent } from '../shared/wire/cluster.ts';
import { waitFor } from './fixtures/wait.ts';
import { UpgradePoolFixture } from './helpers/upgrade-pool-fixture.ts';
import { getJson as get, oneLeader } from './helpers/upgrade-views.ts';

// The leader of a real local pool is killed (SIGKILL) once the first member of an upgrade runs
// the new agent: the member that leads next continues the same rollout — the upgraded member is
// not restarted again, the others follow one at a time — and no two leaders drive it at once.
let fx: UpgradePoolFixture;
let pool: UpgradePoolFixture['pool'];
let monitors: string[] = [];
let v2: string;
const V2 = `${VERSION}-failover.2`;

type UpgradeView = {
  self: { version: string; sha256: string | null; ready: boolean; last: { at: number; ok: boolean } | null };
  rollout: { sha256: string; leading: boolean; halted?: unknown; completedAt?: number } | null;
};
const view = (m: string) => get<UpgradeView>(`${m}/upgrade`).catch(() => null);

beforeAll(async () => {
  fx = await UpgradePoolFixture.start({ name: 'upfo', min: 4, max: 4 });
  pool = fx.pool;
  monitors = fx.monitors;
  v2 = await fx.artifact('v2');
}, 600_000);

afterAll(async () => {
  await fx?.stop();
});

describe('a leader killed mid-upgrade', () => {
  it('the next leader continues the rollout where it was, alone', { timeout: 900_000 }, async () => {
    // One leader every node names, with all 4 alive: a pool just bootstrapped may still be merging
    // islands that each elected one, and a push to a leader about to step down is refused.
    const leader = await oneLeader(monitors, 4, 60_000);
    // Every node serves :8642 on its own address: the host tells them apart.
    const leaderMonitor = monitors.find((m) => new URL(m).host === new URL(leader.monitor).host) as string;
    const survivors = monitors.filter((m) => m !== leaderMonitor);

    // Every node's event stream, followed again whenever its node restarts.
    const events: Array<{ monitor: string; e: UpgradeEvent }> = [];
    const stop = new AbortController();
    const followers = monitors.map(async (m) => {
      while (!stop.signal.aborted) {
        await followEvents(
          m,
          (e: PoolEvent) => {
            if (e.type.startsWith('upgrade-')) events.push({ monitor: m, e: e as UpgradeEvent });
          },
          stop.signal,
        ).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 500));
      }
    });
    // Sampled all along: how many nodes drive a rollout at once (leading, neither halted nor complete).
    let mostDriving = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const views = await Promise.all(monitors.map(view));
        const driving = views.filter((v) => v?.rollout?.leading && !v.rollout.halted && !v.rollout.completedAt);
        mostDriving = Math.max(mostDriving, driving.length);
        await new Promise((r) => setTimeout(r, 300));
      }
    })();

    const bytes = await readFile(v2);
    const key = await readUpgradeKey(pool.stateDir);
    const signed = signManifest(
      describeArtifact(bytes, { pool: 'upfo', version: V2, builtAt: 1, issuedAt: Date.now() }),
      key.privateKey,
    );
    await pushUpgrade(
      { poolKeyFile: poolKeyFile(pool.stateDir), leaderPeerId: leader.peerId, leaderAddrs: leader.addrs },
      { signed, bytes, gateMs: 90_000 },
    );
    const sha = signed.manifest.sha256;

    // The first member upgraded: kill the leader at once, without a leave.
    const first = await waitFor(
      'the first member on the new agent',
      async () => {
        for (const m of survivors) {
          const v = await view(m);
          if (v?.self.sha256 === sha && v.self.ready && v.self.last?.ok) return { monitor: m, lastAt: v.self.last.at };
        }
        return null;
      },
      { timeoutMs: 300_000, everyMs: 300 },
    );
    const pid = (await pool.recorded()).find((i) => i.id === leader.instanceId)?.pid as number;
    process.kill(pid, 'SIGKILL');

    // Every survivor ends on the new agent, ready.
    await waitFor(
      'every surviving node on the new agent',
      async () => {
        const views = await Promise.all(survivors.map(view));
        return views.every((v) => v?.self.sha256 === sha && v.self.ready);
      },
      { timeoutMs: 600_000, everyMs: 1000 },
    );
    sampling = false;
    await sampler;
    const complete = await waitFor(
      'the rollout complete',
      () => events.find(({ e }) => e.type === 'upgrade-complete' && e.sha === sha),
      { timeoutMs: 120_000, everyMs: 500 },
    );
    stop.abort();
    await Promise.all(followers);

    // Continued, not started over: a surviving node said so, the first member kept its one restart.
    const resumed = events.filter(({ e }) => e.type === 'upgrade-started' && e.resumed);
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    expect(resumed.some(({ monitor }) => monitor !== leaderMonitor)).toBe(true);
    expect((await view(first.monitor))?.self.last?.at).toBe(first.lastAt);
    expect(events.some(({ e }) => e.type === 'upgrade-halted')).toBe(false);
    expect(complete.monitor).not.toBe(leaderMonitor);
    // Each member's restart was told on the stream by whoever led then.
    const restarted = new Set(
      events.flatMap(({ e }) => (e.type === 'upgrade-progress' && e.phase === 'restarting' ? [e.instanceId] : [])),
    );
    expect(restarted.size).toBeGreaterThanOrEqual(survivors.length - 1);
    expect(mostDriving).toBe(1);
    for (const m of survivors) expect((await get<{ version: string }>(`${m}/health`)).version).toBe(V2);
  });
});
