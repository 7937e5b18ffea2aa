import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type AgentLog } from '../../agent/agent.ts';
import { type AgentTunables, defaultTunables } from '../../shared/config/tunables.ts';
import { generatePoolKey } from '../../shared/pool-key.ts';
import type { AgentConfig } from '../../shared/wire/agent-config.ts';
import type { ClusterView } from '../../shared/wire/cluster.ts';

/** Fast timings so tests converge and detect failures in about a second. */
export const FAST: Partial<AgentTunables> = {
  heartbeatInterval: 200,
  suspectAfter: 600,
  deadAfter: 1000,
  sampleInterval: 500,
  leaveGrace: 300,
};

export const quietLog: AgentLog = { debug() {}, info() {}, warn() {}, error() {} };

/** A scratch pool: temp dir, pool key, and agent configs on free loopback ports. */
export class TestPool {
  readonly agents: Agent[] = [];
  readonly dir: string;
  readonly keyFile: string;
  readonly pool: string;

  private constructor(dir: string, pool: string) {
    this.dir = dir;
    this.pool = pool;
    this.keyFile = join(dir, 'pool.key');
  }

  static async create(pool = `t${Math.random().toString(36).slice(2, 8)}`): Promise<TestPool> {
    const p = new TestPool(await mkdtemp(join(tmpdir(), 'poolparty-test-')), pool);
    await writeFile(p.keyFile, generatePoolKey(), { mode: 0o600 });
    return p;
  }

  config(name: string, overrides: Partial<AgentConfig> = {}, tunables: Partial<AgentTunables> = FAST): AgentConfig {
    return {
      pool: this.pool,
      cloud: 'web',
      instanceId: name,
      dataDir: join(this.dir, name),
      poolKeyFile: this.keyFile,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: this.agents.length > 0 ? [this.agents[0]?.multiaddrs[0] as string] : [],
      monitor: { host: '127.0.0.1', port: 0, url: '' },
      tunables: { ...defaultTunables(tunables.heartbeatInterval ?? 1000), ...tunables },
      metrics: {},
      ...overrides,
    };
  }

  async start(name: string, overrides: Partial<AgentConfig> = {}): Promise<Agent> {
    const agent = new Agent(this.config(name, overrides), { log: quietLog });
    await agent.start();
    this.agents.push(agent);
    return agent;
  }

  async stop(agent: Agent, leave = true): Promise<void> {
    await agent.stop({ leave });
    this.agents.splice(this.agents.indexOf(agent), 1);
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.agents.map((a) => a.stop({ leave: false })));
    this.agents.length = 0;
    await rm(this.dir, { recursive: true, force: true });
  }
}

export function states(view: ClusterView): Record<string, string> {
  return Object.fromEntries(view.members.map((m) => [m.instanceId, m.state]));
}

export function allAlive(view: ClusterView, n: number): boolean {
  return view.members.length === n && view.members.every((m) => m.state === 'alive');
}
