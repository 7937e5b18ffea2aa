import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushUpgrade } from '../cli/upgrade/push.ts';
import { poolKeyFile } from '../shared/config/resolve.ts';
import { readUpgradeKey } from '../shared/upgrade/key.ts';
import { describeArtifact, signManifest } from '../shared/upgrade/manifest.ts';
import { VERSION } from '../shared/version.ts';
import { waitFor } from './fixtures/wait.ts';
import { UpgradePoolFixture } from './helpers/upgrade-pool-fixture.ts';
import { getJson as get, oneLeader, type UpgradeNodeView } from './helpers/upgrade-views.ts';

// A real local pool of 3 agents, upgraded to a rebuild, then `poolparty upgrade --rollback`: the
// leader is killed (SIGKILL, its process group) once the first member went back. The member that
// leads next continues the same run — the member that went back is not returned again, the others
// return one at a time — and the CLI that follows the run ends with it.
let fx: UpgradePoolFixture;
const V2 = `${VERSION}-rollback-takeover.2`;

/** GET /upgrade, with what a `--rollback` run adds: the run a member was told of, the leader's run. */
type UpgradeView = Omit<UpgradeNodeView, 'self'> & {
  self: UpgradeNodeView['self'] & { rollback?: { id: string; returnedAt?: number } | null };
  rollback: { id: string; leading: boolean; completedAt?: number; halted?: unknown } | null;
};
const view = (m: string) => get<UpgradeView>(`${m}/upgrade`).catch(() => null);
const host = (m: string) => new URL(m).host;

beforeAll(async () => {
  fx = await UpgradePoolFixture.start({ name: 'uprt', min: 3, max: 3 });
}, 600_000);

afterAll(async () => {
  await fx?.stop();
});

describe('a leader killed mid-rollback', () => {
  it('the next leader continues the rollback, and the CLI following it ends with it', {
    timeout: 900_000,
  }, async () => {
    // Every node on the rebuild first.
    const monitors = fx.monitors;
    const first = await oneLeader(monitors, 3);
    const bytes = await readFile(await fx.artifact('v2'));
    const key = await readUpgradeKey(fx.pool.stateDir);
    const signed = signManifest(
      describeArtifact(bytes, { pool: 'uprt', version: V2, builtAt: 1, issuedAt: Date.now() }),
      key.privateKey,
    );
    await pushUpgrade(
      { poolKeyFile: poolKeyFile(fx.pool.stateDir), leaderPeerId: first.peerId, leaderAddrs: first.addrs },
      { signed, bytes, gateMs: 90_000 },
    );
    const sha = signed.manifest.sha256;
    await waitFor(
      'every node on the rebuild, ready',
      async () => (await Promise.all(monitors.map(view))).every((v) => v?.self.sha256 === sha && v.self.ready),
      { timeoutMs: 300_000, everyMs: 1000 },
    );

    // The rollback, followed by the CLI as an operator runs it.
    const leader = await oneLeader(monitors, 3);
    const leaderMonitor = monitors.find((m) => host(m) === host(leader.monitor)) as string;
    const survivors = monitors.filter((m) => m !== leaderMonitor);
    const cli = fx.cli(
      'upgrade',
      '-c',
      fx.pool.config,
      '--rollback',
      '--yes',
      '--json',
      '--gate',
      '60s',
      '--timeout',
      '4m',
    );

    // The first member back on the agent it was bootstrapped with: kill the leader, no leave.
    await waitFor(
      'the first member back on its previous agent',
      async () => {
        const views = await Promise.all(survivors.map(view));
        return views.some((v) => v?.self.sha256 === null && v.self.ready);
      },
      { timeoutMs: 300_000, everyMs: 300 },
    );
    const pid = (await fx.pool.recorded()).find((i) => i.id === leader.instanceId)?.pid as number;
    process.kill(-pid, 'SIGKILL'); // the supervisor and the agent it runs

    const run = await cli;
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const out = JSON.parse(run.stdout) as { id: string; done: boolean; events: Array<{ type: string }> };
    const told = `${run.stdout}\n${run.stderr}`;
    expect(out.done, told).toBe(true);
    // (Its `upgrade-complete` may go out before the CLI follows the new leader's stream: the
    // run's end is read from /upgrade below.)
    expect(
      out.events.some((e) => e.type === 'upgrade-halted'),
      told,
    ).toBe(false);

    // The pool that is left: every node on the old agent, each returned once for this one run.
    const views = await waitFor(
      'the survivors on the old agent, ready',
      async () => {
        const vs = await Promise.all(survivors.map(view));
        return vs.every((v) => v?.self.sha256 === null && v.self.ready) ? vs : null;
      },
      { timeoutMs: 60_000, everyMs: 500 },
    );
    for (const m of survivors) expect((await get<{ version: string }>(`${m}/health`)).version).toBe(VERSION);
    const runs = new Set(views.flatMap((v) => [v?.self.rollback?.id, v?.rollback?.id]).filter(Boolean));
    expect([...runs]).toEqual([out.id]);
    expect(views.every((v) => v?.self.rollback?.returnedAt !== undefined)).toBe(true);
    // Continued by a survivor, which shows the run it drove to its end (or found ended, on
    // leading after the one that returned last).
    await waitFor(
      'a survivor showing the run complete',
      async () =>
        (await Promise.all(survivors.map(view))).some((v) => v?.rollback?.id === out.id && v.rollback.completedAt),
      { timeoutMs: 60_000, everyMs: 500 },
    );
  });
});
