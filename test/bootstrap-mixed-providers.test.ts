import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fetchCluster } from '../cli/monitor-client.ts';
import { parsePool } from '../shared/config/load.ts';
import { createLogger } from '../shared/log.ts';
import { createEc2Remoter, type Ec2Remoter } from '../shared/remoter/ec2.ts';
import { stubAwsEnv } from './ec2-fixtures.ts';
import { fakeAwsEnv } from './fixtures/cli-env.ts';
import { Ec2AgentPool } from './fixtures/ec2-agent-pool.ts';
import { killMatching, randomLoopbackBase } from './fixtures/procs.ts';
import { runCli } from './fixtures/run-cli.ts';
import { waitFor } from './fixtures/wait.ts';
import { userDataConfig } from './seeds-fixtures.ts';

/**
 * A pool of a local cloud and an EC2 cloud (user data) meets at bootstrap (issue 15). Real agents
 * on both sides: the CLI spawns the local ones; the EC2 ones boot on loopback "machines" from the
 * real user data the wire-level EC2 server received (test/fixtures/ec2-instances.ts). Each
 * launcher used to seed new agents only with its own provider's instances, so the EC2 agents
 * started alone, formed a pool of their own, and the second bootstrap timed out waiting for the
 * two clouds to see each other. Now every launch also lists the pool's other clouds
 * (shared/remoter/pool-seeds.ts): the CLI through its remoters, a leader through its providers.
 *
 * Local first only: a leader keeps every cloud at its min, and an EC2 agent leading would start
 * the local cloud's agents on its own machine (a local cloud is one host's processes). The pool's
 * oldest member, a local agent, leads here, and a live leader stays.
 */

const CLI = resolve('bin/poolparty.mjs');
// Quick, but not so quick that a loaded test machine makes members flap between alive and suspect.
const AGENT = { heartbeatInterval: '300ms', suspectAfter: '3s', deadAfter: '6s', leaveGrace: '200ms' };
/** In a member's view: alive, or suspected for a moment on a loaded machine (not dead, not gone). */
const IN_VIEW = new Set(['alive', 'suspect']);

describe('bootstrap of a local and an ec2 cloud, one cloud after the other', () => {
  let pool: Ec2AgentPool | undefined;
  let config: string;
  let remoter: Ec2Remoter | undefined;
  let localMonitors: string[] = [];
  let localIds: string[] = [];

  beforeAll(async () => {
    pool = await Ec2AgentPool.start({ name: 'bootprov', aws: fakeAwsEnv() });
    const definition = {
      name: `bootprov${Math.random().toString(36).slice(2, 7)}`,
      clouds: {
        loc: {
          instances: { min: 2, max: 2 },
          using: { provider: 'local', firstAddress: randomLoopbackBase() },
          agent: AGENT,
        },
        app: {
          // max 2: a leader healing the cloud while the CLI bootstraps it may add one; nothing contracts.
          instances: { min: 1, max: 2 },
          using: { provider: 'ec2', ...pool.ec2Options },
          monitor: { port: pool.monitorPort },
          agent: AGENT,
        },
      },
    };
    config = join(pool.dir, 'clouds.json');
    await writeFile(config, JSON.stringify(definition, null, 2));
    // The test's own remoter (it ends the ec2 cloud's instances) reads static fake credentials.
    stubAwsEnv();
    remoter = createEc2Remoter({
      pool: parsePool(definition, config),
      cloud: 'app',
      stateDir: join(pool.dir, 'laptop'),
      log: createLogger({}, { level: 'error', write: () => {} }),
    });
  }, 120_000);

  afterAll(async () => {
    if (!pool) return;
    await runCli([CLI, 'terminate', '-c', config, '--yes'], pool.cliEnv, 120_000).catch(() => undefined);
    remoter?.client.destroy();
    vi.unstubAllEnvs();
    await killMatching(pool.dir);
    await pool.close();
  }, 180_000);

  const started = (): Ec2AgentPool => {
    if (!pool) throw new Error('the pool did not start');
    return pool;
  };

  /** Every agent of both clouds sees every live instance (none dead) and follows one leader. */
  const oneView = async (): Promise<boolean> => {
    const p = started();
    const ec2 = p.live().filter((i) => p.machines.machines.get(i.instanceId)?.agent);
    if (ec2.length === 0) return false;
    const ids = JSON.stringify([...localIds, ...ec2.map((i) => i.instanceId)].sort());
    const views = await Promise.all(
      [...localMonitors, ...ec2.map((i) => p.monitorOf(i))].map((m) => fetchCluster(m).catch(() => null)),
    );
    const leaders = new Set(views.map((v) => v?.leader?.peerId ?? null));
    if (leaders.size !== 1 || leaders.has(null)) return false;
    return views.every((v) => {
      const seen = v?.members.filter((x) => IN_VIEW.has(x.state)).map((x) => x.instanceId) ?? [];
      return JSON.stringify(seen.sort()) === ids;
    });
  };

  const logsOnFailure = async (err: Error): Promise<never> => {
    const p = started();
    const tails = await Promise.all(
      [...p.machines.machines.values()].map(async (m) => {
        const text = await readFile(m.agentLog, 'utf8').catch(() => '');
        const lines = text.split('\n').filter((l) => l && !l.includes('"level":"debug"'));
        return [`== ${m.instanceId}`, ...lines.slice(-15).map((l) => l.slice(0, 300))].join('\n');
      }),
    );
    throw new Error(`${err.message}\n${tails.join('\n')}`);
  };

  it('local cloud first, then the ec2 cloud: one membership view, one leader', async () => {
    const p = started();
    const one = await runCli(
      [CLI, 'bootstrap', '-c', config, '--cloud', 'loc', '--json', '--timeout', '60s'],
      p.cliEnv,
      150_000,
    );
    expect(one.code, one.stderr).toBe(0);
    const first = JSON.parse(one.stdout) as { launched: { id: string; monitor?: string }[] };
    localIds = first.launched.map((i) => i.id);
    localMonitors = first.launched.flatMap((i) => (i.monitor ? [i.monitor] : []));
    expect(localMonitors).toHaveLength(2);

    // The CLI's own convergence wait counts the instances of both clouds.
    const two = await runCli(
      [CLI, 'bootstrap', '-c', config, '--cloud', 'app', '--json', '--timeout', '90s'],
      p.cliEnv,
      150_000,
    );
    expect(two.code, two.stderr).toBe(0);
    await waitFor('both clouds in one view with one leader', oneView, { timeoutMs: 60_000, everyMs: 250 }).catch(
      logsOnFailure,
    );
  }, 320_000);

  it('a local leader replacing the ec2 cloud seeds the new instance with the local members', async () => {
    const p = started();
    const gone = p.live().map((i) => i.instanceId);
    expect(gone.length).toBeGreaterThan(0);
    const runsBefore = p.server.callsOf('RunInstances').length;
    // The ec2 cloud's every instance ends: its own listing has nothing left to seed a new one with.
    await remoter?.terminate(gone);
    const leaderRun = await waitFor(
      'the leader to launch into the emptied ec2 cloud',
      () =>
        p.server
          .callsOf('RunInstances')
          .slice(runsBefore)
          .find((c) => !c.error),
      { timeoutMs: 60_000, everyMs: 250 },
    );
    expect(String(leaderRun.params.ClientToken)).not.toMatch(/^bootstrap-/);
    const { bootstrap } = userDataConfig(leaderRun.params.UserData);
    const localAddresses = localMonitors.map((m) => new URL(m).hostname);
    expect(bootstrap.some((a) => localAddresses.some((ip) => a.startsWith(`/ip4/${ip}/`)))).toBe(true);
    await waitFor('the new ec2 agent in the one view', oneView, { timeoutMs: 90_000, everyMs: 250 }).catch(
      logsOnFailure,
    );
    for (const id of gone) expect(p.live().map((i) => i.instanceId)).not.toContain(id);
  }, 200_000);
});
