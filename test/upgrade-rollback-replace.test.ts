import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../shared/version.ts';
import type { HealthView } from '../shared/wire/cluster.ts';
import { waitFor } from './fixtures/wait.ts';
import { UpgradePoolFixture } from './helpers/upgrade-pool-fixture.ts';
import { getJson as get, oneLeader, type UpgradeNodeView } from './helpers/upgrade-views.ts';

// Issue 19, a member launched mid-rollback: a pool of 3 upgraded to a rebuild, then
// `poolparty upgrade --rollback`. The first member back on the old agent is killed; the leader,
// which still runs the rebuild (it returns last), replaces it. The replacement must come up on the
// agent the pool returns to — launched from the rebuild it would have no previous artifact, the
// rollback would skip it, and it would stay on the rebuild for good.
// A slow upgrade tick (6 s per rollback step) leaves the replacement time to be launched before
// the leader's own return.
let fx: UpgradePoolFixture;
const V2 = `${VERSION}-rollback-replace.2`;

beforeAll(async () => {
  fx = await UpgradePoolFixture.start({ name: 'uprr', min: 3, max: 3, cloudFields: "agent: { upgradeTick: '6s' }" });
}, 600_000);

afterAll(async () => {
  await fx?.stop();
});

const view = (m: string) => get<UpgradeNodeView>(`${m}/upgrade`).catch(() => null);

describe('a member lost mid-rollback', () => {
  it('is replaced on the agent the pool returns to: at the end every node runs it', { timeout: 900_000 }, async () => {
    const up = await fx.cli(
      'upgrade',
      '-c',
      fx.pool.config,
      '--artifact',
      await fx.artifact('v2', { version: V2 }),
      '--gate',
      '90s',
      '--yes',
    );
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const leader = await oneLeader(fx.monitors, 3);

    const cli = fx.pool.start(['upgrade', '-c', fx.pool.config, '--rollback', '--yes', '--json', '--timeout', '6m']);
    // Killed once the leader counts it back (before, the leader would wait for it until its gate).
    const records = await fx.pool.recorded();
    const victim = await waitFor(
      'the first member back on the old agent, counted back by the leader',
      async () => {
        const run = (await get<{ rollback: { done: string[] } | null }>(`${leader.monitor}/upgrade`)).rollback;
        return records.find((i) => i.peerId && run?.done.includes(i.peerId) && i.id !== leader.instanceId);
      },
      { timeoutMs: 300_000, everyMs: 300 },
    );
    expect(victim.pid).toBeDefined();
    process.kill(-(victim.pid as number), 'SIGKILL');
    const known = new Set(records.map((i) => i.id));

    const code = await cli.exited;
    expect(code, `${cli.out.stdout}\n${cli.out.stderr}`).toBe(0);
    // The pool now: the other member, the leader, and the replacement, all on the old agent.
    const pool = await waitFor(
      'three instances, the lost member replaced, all on the old agent and ready',
      async () => {
        const live = (await fx.pool.recorded()).filter((i) => i.state === 'running' && i.id !== victim.id);
        const views = await Promise.all(live.map((i) => view(i.monitor)));
        return live.length === 3 && views.every((v) => v?.self.sha256 === null && v.self.ready) ? live : null;
      },
      { timeoutMs: 240_000, everyMs: 1000 },
    );
    expect(pool.filter((i) => !known.has(i.id))).toHaveLength(1);
    for (const i of pool) expect((await get<HealthView>(`${i.monitor}/health`)).version).toBe(VERSION);
  });
});
