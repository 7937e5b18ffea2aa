import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type AgentLog } from '../agent/agent.ts';
import { parsePool } from '../shared/config/load.ts';
import type { InstanceRecord, RemoterBase } from '../shared/remoter/types.ts';
import { waitFor } from './fixtures/wait.ts';
import { FAST, TestPool } from './helpers/agents.ts';

/**
 * Issue 13 on real agents (three in one process, fast tunables, a fake provider): the leader is
 * crashed (no leave) while `min(queue) > 10 for 12s` has held ~8 s; the new leader starts that rule's
 * window from the old leader's last summary (it logs scaling-windows-inherited) and launches
 * before a whole window has passed since it began to act. Without the wiring in agent/compose.ts
 * and compose/members.ts nothing is inherited, no line is logged and the test fails.
 */
const WINDOW = 12_000;

let pool: TestPool | undefined;
afterEach(async () => {
  await pool?.cleanup();
  pool = undefined;
});

describe('a leader crashed mid-window: the new leader does not wait a whole window again', () => {
  it('inherits the window and launches less than one window after it begins to act', async () => {
    pool = await TestPool.create();
    const queueFile = join(pool.dir, 'queue');
    await writeFile(queueFile, '0\n');
    const definition = parsePool(
      {
        name: pool.pool,
        clouds: {
          web: {
            instances: { min: 3, max: 5 },
            using: { provider: 'local' },
            metrics: { queue: { file: 'queue' } },
            scaling: { expandWhen: 'min(queue) > 10 for 12s', interval: '200ms', joinTimeout: '10m' },
          },
        },
      },
      'clouds.json',
    );
    const def = definition.clouds.web;
    if (!def) throw new Error('web');
    const launches: Array<{ at: number; by: string }> = [];
    const inherited: Array<{ by: string; fields: Record<string, unknown> }> = [];
    const instances: InstanceRecord[] = ['w-1', 'w-2', 'w-3'].map((id) => ({
      id,
      state: 'running',
      launchedAt: Date.now(),
      tags: {},
    }));
    const agents = new Map<string, Agent>();
    for (const name of ['w-1', 'w-2', 'w-3']) {
      const remoter: RemoterBase = {
        provider: 'fake',
        launch: async (req) => {
          launches.push({ at: Date.now(), by: name });
          return Array.from({ length: req.count }, (_, i) => ({
            id: `new-${Date.now()}-${i}`,
            state: 'pending' as const,
            launchedAt: Date.now(),
            tags: {},
          }));
        },
        list: async () => instances,
        terminate: async () => undefined,
      };
      const log: AgentLog = {
        debug() {},
        info(msg, fields) {
          if (msg === 'scaling-windows-inherited') inherited.push({ by: name, fields: fields ?? {} });
        },
        warn() {},
        error() {},
      };
      const config = pool.config(
        name,
        {
          metrics: { queue: { kind: 'file', file: queueFile, every: 200, timeout: 1000 } },
          scaling: {
            min: def.instances.min,
            max: def.instances.max,
            config: def.scaling,
            definition,
            stateDir: pool.dir,
          },
        },
        { ...FAST, loadInterval: 500 },
      );
      const agent = new Agent(config, { log, remoter: () => remoter });
      await agent.start();
      pool.agents.push(agent);
      agents.set(name, agent);
    }
    const acting = () => [...agents.values()].find((a) => a.scaler?.snapshot().leading);
    const old = await waitFor('a leader acting', acting, { timeoutMs: 20_000 });
    await writeFile(queueFile, '50\n');
    const held = () => old.scaler?.snapshot().rules.expand?.sustain.heldForMs ?? 0;
    await waitFor('the rule held 8 s of 12 at the leader', () => held() >= 8000, { timeoutMs: 20_000 });
    expect(launches).toEqual([]);
    await pool.stop(old, false);
    agents.delete(old.config.instanceId);

    const next = await waitFor('a new leader acting', acting, { timeoutMs: 20_000 });
    const since = next.scaler?.snapshot().acting?.leaseSince ?? Date.now();
    await waitFor('the new leader launches', () => launches.length > 0, { timeoutMs: 2 * WINDOW });
    const first = launches[0] as { at: number; by: string };
    expect(first.by).toBe(next.config.instanceId);
    expect(inherited.find((e) => e.by === next.config.instanceId)?.fields.expandHeldMs).toBeGreaterThan(2000);
    expect(first.at - since).toBeLessThan(WINDOW);
  }, 90_000);
});
