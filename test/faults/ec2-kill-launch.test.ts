import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ec2AgentPool } from '../fixtures/ec2-agent-pool.ts';
import { runCli } from '../fixtures/run-cli.ts';
import { waitFor } from '../fixtures/wait.ts';

/**
 * kill -9 of an EC2 pool's leader in the middle of its launch, while the wire-level EC2 server also
 * loses RunInstances answers (issue 15's fault list): a pool of real agents booted from their user
 * data (min 2, max 3) is asked to grow; the moment the leader's RunInstances creates an instance,
 * the leader's agent is killed with SIGKILL, and that answer and the next are dropped. The
 * survivor must take over, adopt what the dead leader launched and, once `replaceAfter` passes,
 * replace the dead leader's instance: at no moment more than max instances, the pool back at
 * max with an agent on every instance, and `terminate` leaves nothing.
 */

const CLI = resolve('bin/poolparty.mjs');
const MIN = 2;
const MAX = 3;

describe('kill -9 of an EC2 leader mid-launch with RunInstances answers lost (real agents)', () => {
  let pool: Ec2AgentPool;
  let queueFile: string;
  let config: string;
  /** The instance whose agent dies at the next RunInstances, once armed. */
  let victim: string | undefined;
  let killedAt: number | undefined;
  /** The instance the dead leader's RunInstances created (its answer lost). */
  let orphan: string | undefined;
  let maxLive = 0;

  beforeAll(async () => {
    pool = await Ec2AgentPool.start({
      name: 'ec2kill',
      aws: {
        AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'test-secret',
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: '/nonexistent/aws-config',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      },
      onLaunch: (inst) => {
        maxLive = Math.max(maxLive, pool.live().length);
        if (victim === undefined) return;
        // The leader dies with its RunInstances under way: this answer and the SDK's retry are lost.
        pool.server.model.dropResponses('RunInstances', 2);
        pool.machines.machines.get(victim)?.agent?.kill('SIGKILL');
        killedAt = Date.now();
        orphan = inst.instanceId;
        victim = undefined;
      },
    });
    queueFile = join(pool.dir, 'queue');
    await writeFile(queueFile, '5\n');
    config = join(pool.dir, 'clouds.json');
    const using = { provider: 'ec2', ...pool.ec2Options };
    const scaling = {
      expandWhen: 'max(queue) > 10 for 1s',
      contractWhen: 'max(queue) < 1 for 1s',
      cooldown: { expand: '1500ms', contract: '1s' },
      minimumRuntime: '0s',
      interval: '250ms',
      joinTimeout: '30s',
    };
    // replaceAfter short enough for a test; reapAfter below it, as the defaults' ratio.
    const agent = { heartbeatInterval: '250ms', replaceAfter: '15s', reapAfter: '4s' };
    const app = {
      instances: { min: MIN, max: MAX },
      using,
      monitor: { port: pool.monitorPort },
      metrics: { queue: { file: queueFile, every: '200ms' } },
      agent,
      scaling,
    };
    await writeFile(config, JSON.stringify({ name: 'ec2kill', clouds: { app } }));
  }, 120_000);

  afterAll(() => pool?.close(), 60_000);

  /** What the provider lists, which machines run an agent, and each agent's view: for failure messages. */
  const state = async () => {
    const views = await Promise.all(
      pool.live().map(async (i) => {
        const v = await pool.cluster(i).catch((e: Error) => e.message);
        if (typeof v === 'string') return `${i.instanceId}: ${v}`;
        const members = v.members.map((m) => `${m.instanceId}:${m.state}`).join(' ');
        return `${i.instanceId}: leader ${v.leader?.term ?? '-'} ${members}`;
      }),
    );
    const running = pool.machines.running().map((m) => m.instanceId);
    return [`live ${pool.live().map((i) => i.instanceId)}`, `agents ${running}`, ...views].join('\n');
  };

  it('the survivor adopts the dead leader’s launch and replaces its instance, never above max', async () => {
    const boot = await runCli([CLI, 'bootstrap', '-c', config, '--timeout', '60s', '--json'], pool.cliEnv, 150_000);
    expect(boot.code, boot.stderr).toBe(0);
    await waitFor(`${MIN} agents converged`, () => pool.converged(MIN), { timeoutMs: 90_000, everyMs: 500 });
    const [first] = pool.live();
    if (!first) throw new Error('no instance');
    const view = await pool.cluster(first);
    const leader = view.members.find((mm) => mm.peerId === view.leader?.peerId);
    if (!leader?.instanceId) throw new Error('no leader');
    const bootRuns = pool.server.callsOf('RunInstances').length;

    victim = leader.instanceId;
    await writeFile(queueFile, '50\n');
    await waitFor('the leader to launch and die', () => killedAt !== undefined, { timeoutMs: 60_000, everyMs: 100 });
    const runs = pool.server.callsOf('RunInstances').slice(bootRuns);
    expect(runs[0]?.error, 'the first answer was lost').toBe('ResponseDropped');

    // The dead leader's instance is still listed; the survivor and the instance it launched are a
    // majority of the three, so a new leader acts: it adopts that launch, replaces the dead
    // instance after replaceAfter, and grows back to max.
    // Generous: on a loaded machine booting the new instance and the leader's evaluations are slow.
    await waitFor(`back to ${MAX} with an agent on each`, () => pool.converged(MAX), {
      timeoutMs: 240_000,
      everyMs: 500,
    }).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await state()}`);
    });
    const gone = [...pool.server.model.instances.values()].filter((i) => i.terminateRequestedAt !== undefined);
    expect(
      gone.map((i) => i.instanceId),
      'the dead leader’s instance was replaced',
    ).toContain(leader.instanceId);
    expect(
      (gone.find((i) => i.instanceId === leader.instanceId)?.terminateRequestedAt ?? 0) - (killedAt ?? 0),
      'not before replaceAfter',
    ).toBeGreaterThanOrEqual(15_000);
    expect(
      pool.live().map((i) => i.instanceId),
      'the launch whose answer was lost is adopted',
    ).toContain(orphan);
    expect(maxLive, 'never more than max instances').toBeLessThanOrEqual(MAX);
    const tokens = pool.server
      .callsOf('RunInstances')
      .filter((c) => !c.error)
      .map((c) => c.params.ClientToken);
    expect(new Set(tokens).size, 'no launch made twice').toBe(tokens.length);
  }, 420_000);

  it('terminate leaves nothing: no instance listed, no agent running', async () => {
    const run = await runCli([CLI, 'terminate', '-c', config, '--yes', '--json'], pool.cliEnv, 150_000);
    expect(run.code, run.stderr).toBe(0);
    expect(pool.live()).toEqual([]);
    await waitFor('every agent stopped', () => pool.machines.running().length === 0, { timeoutMs: 30_000 });
  }, 180_000);
});
