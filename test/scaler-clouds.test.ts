import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../agent/agent.ts';
import { PoolScaler } from '../agent/scaler/pool-scaler.ts';
import type { Scaler } from '../agent/scaler/scaler.ts';
import { type StatusResult, statusText } from '../cli/commands/status.ts';
import { parsePool } from '../shared/config/load.ts';
import type { InstanceRecord, LaunchRequest, RemoterBase } from '../shared/remoter/types.ts';
import type { ScalingDecision } from '../shared/wire/cluster.ts';
import { waitFor } from './fixtures/wait.ts';
import { FAST, quietLog, TestPool } from './helpers/agents.ts';

/** One cloud's provider: lists what it holds, records launches (launched instances never join). */
class CloudProvider implements RemoterBase {
  readonly provider = 'fake';
  readonly instances: InstanceRecord[];
  readonly launches: LaunchRequest[] = [];
  terminated: string[] = [];
  #n = 0;
  constructor(
    readonly cloud: string,
    ids: string[],
  ) {
    this.instances = ids.map((id) => ({ id, state: 'running', launchedAt: Date.now(), tags: {} }));
  }
  async launch(req: LaunchRequest): Promise<InstanceRecord[]> {
    this.launches.push(req);
    const out = Array.from({ length: req.count }, () => ({
      id: `${this.cloud}-new-${++this.#n}`,
      state: 'pending' as const,
      launchedAt: Date.now(),
      tags: {},
    }));
    this.instances.push(...out);
    return out;
  }
  async list(): Promise<InstanceRecord[]> {
    return this.instances.filter((i) => i.state !== 'terminated');
  }
  async terminate(ids: string[]): Promise<void> {
    this.terminated.push(...ids);
    for (const i of this.instances) if (ids.includes(i.id)) i.state = 'terminated';
  }
}

let pool: TestPool | undefined;
afterEach(async () => {
  await pool?.cleanup();
  pool = undefined;
});

describe('one scaler per cloud (issue 15, item 4)', () => {
  it('a leader in web heals worker below min and expands worker on its own rule; /scaling shows both', async () => {
    pool = await TestPool.create();
    const queueFile = join(pool.dir, 'queue');
    await writeFile(queueFile, '50\n');
    const definition = parsePool(
      {
        name: pool.pool,
        clouds: {
          web: { instances: { min: 1, max: 1 }, using: { provider: 'local' } },
          worker: {
            instances: { min: 2, max: 3 },
            using: { provider: 'local', firstAddress: '127.0.1.2' },
            metrics: { queue: { file: 'queue' } },
            scaling: {
              expandWhen: 'queue > 10 for 1s',
              cooldown: { expand: '500ms' },
              interval: '200ms',
              joinTimeout: '10m',
            },
          },
        },
      },
      'clouds.json',
    );
    const providers: Record<string, CloudProvider> = {
      web: new CloudProvider('web', ['web-1']),
      worker: new CloudProvider('worker', ['worker-1']),
    };
    const remoter = (cloud: string) => providers[cloud];
    const tunables = { ...FAST, loadInterval: 500 };
    const start = async (name: string, cloud: 'web' | 'worker'): Promise<Agent> => {
      const def = definition.clouds[cloud];
      if (!def) throw new Error(cloud);
      const config = pool?.config(
        name,
        {
          cloud,
          metrics: cloud === 'worker' ? { queue: { kind: 'file', file: queueFile, every: 200, timeout: 1000 } } : {},
          scaling: {
            min: def.instances.min,
            max: def.instances.max,
            config: def.scaling,
            definition,
            stateDir: pool.dir,
          },
        },
        tunables,
      );
      const agent = new Agent(config as NonNullable<typeof config>, {
        log: quietLog,
        remoter,
      });
      await agent.start();
      pool?.agents.push(agent);
      return agent;
    };
    const web = await start('web-1', 'web');
    await start('worker-1', 'worker');
    await waitFor('web-1 leads', () => web.leadership?.leads !== null && web.leadership?.leads !== undefined, {
      timeoutMs: 10_000,
    });
    expect(web.scaler?.clouds).toEqual(['web', 'worker']);

    // Healing: worker is below min (1 < 2) although the leader is in web.
    await waitFor('worker healed to min', () => providers.worker?.launches.length === 1, { timeoutMs: 15_000 });
    // Launches that went through (on a loaded machine an attempt may be fenced first: the lease lapsed).
    const launched = (cloud: string): ScalingDecision[] =>
      (web.scaler?.cloud(cloud)?.snapshot().decisions ?? []).filter((d) => d.action === 'expand' && d.result === 'ok');
    expect(launched('worker')[0]).toMatchObject({
      cloud: 'worker',
      reason: 'below min: 1 < 2',
      result: 'ok',
    });
    // Expansion: worker's rule (queue > 10 for 1s, from worker members' metrics) adds one, up to max 3.
    await waitFor('worker expanded on its rule', () => providers.worker?.launches.length === 2, { timeoutMs: 15_000 });
    expect(launched('worker')[1]?.reason).toMatch(/expand rule held/);
    expect(providers.worker?.launches.every((l) => l.cloud === 'worker')).toBe(true);
    expect(providers.web?.launches).toEqual([]);

    type Body = {
      cloud: string;
      clouds: Record<string, { cloud: string; bounds: { min: number; max: number }; instances: number | null }>;
    };
    let body: Body | undefined;
    await waitFor('/scaling counts worker at 3', async () => {
      body = (await (await fetch(`${web.monitorUrl}/scaling`)).json()) as Body;
      return body.clouds.worker?.instances === 3;
    });
    if (!body) throw new Error('no /scaling body');
    expect(body.cloud).toBe('web');
    expect(Object.keys(body.clouds)).toEqual(['web', 'worker']);
    expect(body.clouds.worker).toMatchObject({ cloud: 'worker', bounds: { min: 2, max: 3 }, instances: 3 });
    expect(body.clouds.web).toMatchObject({ bounds: { min: 1, max: 1 }, instances: 1 });
  }, 40_000);

  it('poolparty status shows every cloud and their decisions, with a CLOUD column', () => {
    const decision = (cloud: string, at: number, action: ScalingDecision['action']): ScalingDecision => ({
      at,
      term: 2,
      cloud,
      action,
      count: 1,
      reason: `${cloud} ${action}`,
      instances: 1,
    });
    const cloud = (name: string, min: number, max: number, decisions: ScalingDecision[]) => ({
      cloud: name,
      leading: true,
      bounds: { min, max },
      instances: min,
      rules: { expand: { text: `${name}-load > 1 for 1s`, holds: name === 'worker' }, contract: null },
      decisions,
    });
    const web = cloud('web', 1, 2, [decision('web', 1000, 'none')]);
    const worker = cloud('worker', 2, 3, [decision('worker', 2000, 'expand')]);
    const r = {
      pool: 'p',
      self: 'a',
      members: [],
      node: 'http://127.0.0.1:1',
      leader: null,
      configuration: { members: [], rollout: null },
      scaling: {
        leader: null,
        enabled: true,
        ...web,
        clouds: { web, worker },
        node: 'http://127.0.0.1:1',
        decisions: [...web.decisions, ...worker.decisions],
      },
    } as StatusResult;
    const text = statusText(r, 5000);
    expect(text).toMatch(/scaling \(http:\/\/127.0.0.1:1\): 2 clouds/);
    expect(text).toMatch(/ {2}web: 1 instances, bounds 1..2\n {4}expand when web-load > 1 for 1s\n/);
    expect(text).toMatch(/ {2}worker: 2 instances, bounds 2..3\n {4}expand when worker-load > 1 for 1s \(holds now\)/);
    expect(text).toMatch(/TIME\s+CLOUD\s+ACTION/);
    expect(text).toMatch(/worker\s+expand/);
  });

  it('steps each cloud on its own interval, ticking at the shortest; counts sum for the lease', async () => {
    const steps: string[] = [];
    const fake = (cloud: string, interval: number, counted: number | null) =>
      ({
        interval,
        countedIn: (term: number) => (term === 7 ? counted : null),
        busy: false,
        step: async () => {
          steps.push(cloud);
        },
      }) as unknown as Scaler;
    const pool = new PoolScaler(
      'web',
      new Map([
        ['web', fake('web', 200, 2)],
        ['worker', fake('worker', 1000, 3)],
        ['batch', fake('batch', 1000, null)],
      ]),
    );
    expect(pool.interval).toBe(200);
    expect(pool.countedIn(7)).toBe(5);
    expect(pool.countedIn(8), 'no cloud counted in that term').toBeNull();
    // Ticks a little early or late, as timers do.
    for (const now of [0, 195, 410, 598, 801, 1003, 1190, 2004]) await pool.step(now);
    expect(steps.filter((c) => c === 'web')).toHaveLength(8);
    expect(steps.filter((c) => c === 'worker')).toHaveLength(3); // 0, 1003, 2004
    expect(() => new PoolScaler('gone', new Map())).toThrow(/own cloud/);
  });
});
