import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCluster } from '../cli/monitor-client.ts';
import { cliEnv } from './fixtures/cli-env.ts';
import { killMatching, randomLoopbackBase } from './fixtures/procs.ts';
import { runCli } from './fixtures/run-cli.ts';
import { startSshHosts } from './fixtures/ssh-hosts.ts';
import { canRunSshd, type Sshd } from './fixtures/sshd.ts';
import { waitFor } from './fixtures/wait.ts';

const root = await canRunSshd();
const CLI = resolve('bin/poolparty.mjs');

/**
 * Clouds of different providers find each other at `bootstrap` (issue 15): a pool of an ssh cloud
 * (two real sshd on 127.a.b.2-3) and a local cloud (two agents), bootstrapped one `--cloud` at a
 * time with the real CLI, ssh first. Each launcher seeds its agents with what it lists itself, so
 * before the pool's ssh hosts were given to every agent (shared/config/static-seeds.ts) the local
 * agents only knew each other: two pools of two, and the second bootstrap timed out waiting for
 * four nodes to see each other. Both clouds' members are bound (local record, launcher
 * certificate), so this also shows each kind of agent accepting the other's members.
 */
describe.skipIf(!root)('bootstrap of a local and an ssh cloud, one cloud after the other', () => {
  let dir: string;
  const sshds: Sshd[] = [];
  let env: NodeJS.ProcessEnv;
  let config: string;
  let monitorPort = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poolparty-bootmix-'));
    const hosts = await startSshHosts(dir, 2);
    sshds.push(...hosts.sshds);
    const agent = { heartbeatInterval: '200ms', suspectAfter: '1s', deadAfter: '2s', leaveGrace: '200ms' };
    const pool = {
      name: `bootmix${Math.random().toString(36).slice(2, 7)}`,
      clouds: {
        web: { instances: { min: 2, max: 2 }, using: hosts.rawUsing, agent },
        loc: {
          instances: { min: 2, max: 2 },
          using: { provider: 'local', firstAddress: randomLoopbackBase() },
          agent,
        },
      },
    };
    config = join(dir, 'clouds.json');
    await writeFile(config, JSON.stringify(pool, null, 2));
    monitorPort = 8642;
    env = cliEnv(dir, { POOLPARTY_ARTIFACT_DIR: hosts.artifactDir });
  }, 180_000);

  afterAll(async () => {
    if (!dir) return;
    await runCli([CLI, 'terminate', '-c', config, '--yes'], env, 120_000).catch(() => undefined);
    await killMatching(dir);
    for (const s of sshds) await s.stop();
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  }, 180_000);

  const cluster = (monitor: string) => fetchCluster(monitor).catch(() => null);

  /** Bootstraps `first` then `second`; resolves with every instance once all four see all four alive. */
  const bootstrapBoth = async (first: string, second: string) => {
    const one = await runCli(
      [CLI, 'bootstrap', '-c', config, '--cloud', first, '--json', '--timeout', '60s'],
      env,
      150_000,
    );
    expect(one.code, one.stderr).toBe(0);
    // Bounded by the CLI's own convergence wait, which counts the instances of both clouds.
    const two = await runCli(
      [CLI, 'bootstrap', '-c', config, '--cloud', second, '--json', '--timeout', '90s'],
      env,
      150_000,
    );
    expect(two.code, two.stderr).toBe(0);
    const out = JSON.parse(two.stdout) as { instances: { id: string; monitor?: string }[] };
    expect(out.instances).toHaveLength(4);
    const ids = out.instances.map((i) => i.id).sort();
    const monitors = new Set([
      ...out.instances.flatMap((i) => (i.monitor ? [i.monitor] : [])),
      ...sshds.map((s) => `http://${s.host}:${monitorPort}`),
    ]);
    for (const m of monitors) {
      await waitFor(
        `${m} sees the four instances of both clouds alive`,
        async () => {
          const alive = (await cluster(m))?.members.filter((x) => x.state === 'alive').map((x) => x.instanceId);
          return JSON.stringify(alive?.sort()) === JSON.stringify(ids);
        },
        { timeoutMs: 30_000, everyMs: 250 },
      );
    }
  };

  it('ssh cloud first: the local agents dial the ssh hosts at start', async () => {
    await bootstrapBoth('web', 'loc');
  }, 320_000);

  // The ssh hosts are not up when the local agents start: a later join round reaches them.
  it('local cloud first (after terminating the pool): the local agents reach the ssh hosts once they run', async () => {
    const term = await runCli([CLI, 'terminate', '-c', config, '--yes'], env, 150_000);
    expect(term.code, term.stderr).toBe(0);
    await bootstrapBoth('loc', 'web');
  }, 320_000);
});
