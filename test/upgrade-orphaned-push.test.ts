import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../shared/version.ts';
import type { HealthView } from '../shared/wire/cluster.ts';
import { waitFor } from './fixtures/wait.ts';
import { UpgradePoolFixture } from './helpers/upgrade-pool-fixture.ts';
import { getJson as get, oneLeader, type UpgradeNodeView } from './helpers/upgrade-views.ts';

// Issue 19, work that dies with its leader: the leader takes `poolparty upgrade`'s push and dies
// (SIGKILL) before any member staged it. Nobody holds the artifact or the plan, so no new leader
// has anything to continue. The CLI still holds the signed push: seeing no node lead it, it hands
// the same push to the new leader, and the pool ends on the pushed version — the survivors and the
// member the new leader launches in place of the dead one.
let fx: UpgradePoolFixture;
let frozen: number[] = [];
const V2 = `${VERSION}-orphaned.2`;

/** A whole process group (the agent, and its supervisor once upgraded). */
const signal = (pid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(-pid, sig);
  } catch {
    // gone already
  }
};

beforeAll(async () => {
  fx = await UpgradePoolFixture.start({ name: 'upgo', min: 3, max: 3 });
}, 600_000);

afterAll(async () => {
  for (const pid of frozen) signal(pid, 'SIGCONT');
  await fx?.stop();
});

describe('a leader that dies right after it took a push', () => {
  it('the CLI hands the same push to the next leader and completes: exit 0, every node on the version', {
    timeout: 900_000,
  }, async () => {
    const v2 = await fx.artifact('v2', { version: V2 });
    const leader = await oneLeader(fx.monitors, 3);
    const records = await fx.pool.recorded();
    const pidOf = (id: string) => records.find((i) => i.id === id)?.pid as number;
    // The members are frozen while the leader takes the push: it cannot stage them, so when it
    // dies nobody but it ever held the artifact or the plan.
    const members = records.filter((i) => i.state === 'running' && i.id !== leader.instanceId);
    expect(members).toHaveLength(2);
    frozen = members.map((i) => i.pid as number);
    for (const pid of frozen) signal(pid, 'SIGSTOP');
    const cli = fx.pool.start([
      'upgrade',
      '-c',
      fx.pool.config,
      '--artifact',
      v2,
      '--gate',
      '90s',
      '--yes',
      '--json',
      '--timeout',
      '4m',
    ]);
    // The push was taken: the CLI follows the rollout (its first progress line after the push).
    await waitFor('the leader took the push', () => / nodes run [0-9a-f]{12}/.test(cli.out.stderr), {
      timeoutMs: 120_000,
      everyMs: 20,
    });
    signal(pidOf(leader.instanceId), 'SIGKILL');
    for (const pid of frozen) signal(pid, 'SIGCONT');
    frozen = [];

    const code = await cli.exited;
    const told = `${cli.out.stdout}\n${cli.out.stderr}`;
    expect(code, told).toBe(0);
    expect(told).toMatch(/handing the same signed request again/);
    const sha = (JSON.parse(cli.out.stdout) as { sha256: string }).sha256;

    // Every instance the pool runs now: the two survivors and the dead leader's replacement
    // (launched during the rollout and taken into it, or after it by the upgraded leader).
    const pool = await waitFor(
      'three instances, the dead leader replaced, each on the pushed artifact and ready',
      async () => {
        const live = (await fx.pool.recorded()).filter((i) => i.state === 'running' && i.id !== leader.instanceId);
        const views = await Promise.all(live.map((i) => get<UpgradeNodeView>(`${i.monitor}/upgrade`)));
        return live.length === 3 && views.every((u) => u.self.sha256 === sha && u.self.ready) ? live : null;
      },
      { timeoutMs: 180_000, everyMs: 1000 },
    );
    for (const i of pool) expect((await get<HealthView>(`${i.monitor}/health`)).version).toBe(V2);
  });
});
