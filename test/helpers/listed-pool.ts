import { Agent } from '../../agent/agent.ts';
import { parsePool } from '../../shared/config/load.ts';
import type { AgentTunables } from '../../shared/config/tunables.ts';
import type { InstanceRecord, RemoterBase } from '../../shared/remoter/types.ts';
import { FAST, quietLog, type TestPool } from './agents.ts';

/**
 * Real agents on loopback, one per name, each scaling cloud `web` (min..max) through a fake
 * provider that lists exactly these instances and launches or terminates nothing: the lease's
 * pool size is the named agents, whatever the scaler would decide.
 */
export async function startListedAgents(
  pool: TestPool,
  names: readonly string[],
  opts: { min: number; max: number; tunables?: Partial<AgentTunables> },
): Promise<Agent[]> {
  const { min, max } = opts;
  const definition = parsePool(
    {
      name: pool.pool,
      clouds: { web: { instances: { min, max }, using: { provider: 'local' }, scaling: { interval: '200ms' } } },
    },
    'clouds.json',
  );
  const def = definition.clouds.web;
  if (!def) throw new Error('web');
  const instances: InstanceRecord[] = names.map((id) => ({ id, state: 'running', launchedAt: Date.now(), tags: {} }));
  const remoter: RemoterBase = {
    provider: 'fake',
    launch: async () => [],
    list: async () => instances,
    terminate: async () => undefined,
  };
  const agents: Agent[] = [];
  for (const name of names) {
    const config = pool.config(
      name,
      { scaling: { min, max, config: def.scaling, definition, stateDir: pool.dir } },
      { ...FAST, ...opts.tunables },
    );
    const agent = new Agent(config, { log: quietLog, remoter: () => remoter });
    await agent.start();
    pool.agents.push(agent);
    agents.push(agent);
  }
  return agents;
}
