import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AgentConfig } from '../wire/agent-config.ts';
import type { PoolDefinition } from './schema.ts';

/** What the launcher decides per instance; the rest of an AgentConfig comes from the pool. */
export interface AgentRuntime {
  instanceId: string;
  dataDir: string;
  poolKeyFile: string;
  listen: string[];
  bootstrap: string[];
  monitor: { host: string; port: number; url: string };
}

export class ResolveError extends Error {
  override name = 'ResolveError';
}

/**
 * The fully resolved config of one agent. The pool is already normalised by loadPool (tunables
 * merged over the defaults, durations in ms, metric defaults applied), so this only assembles
 * and copies — the agent must not share mutable objects with its launcher.
 */
export function resolveAgentConfig(pool: PoolDefinition, cloudName: string, runtime: AgentRuntime): AgentConfig {
  const cloud = pool.clouds[cloudName];
  if (!cloud) throw new ResolveError(`pool '${pool.name}' has no cloud '${cloudName}'`);
  return {
    pool: pool.name,
    cloud: cloudName,
    instanceId: runtime.instanceId,
    dataDir: runtime.dataDir,
    poolKeyFile: runtime.poolKeyFile,
    listen: [...runtime.listen],
    bootstrap: [...runtime.bootstrap],
    monitor: { ...runtime.monitor },
    tunables: { ...cloud.agent },
    metrics: Object.fromEntries(Object.entries(cloud.metrics).map(([name, spec]) => [name, { ...spec }])),
  };
}

/**
 * The pool's state dir: --state-dir, else env POOLPARTY_STATE_DIR, else the definition's
 * stateDir, else ~/.poolparty/<name>. A leading '~' means the home directory.
 */
export function resolveStateDir(
  pool: Pick<PoolDefinition, 'name' | 'stateDir'>,
  flag?: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const chosen = flag ?? (env.POOLPARTY_STATE_DIR || undefined) ?? pool.stateDir ?? join('~', '.poolparty', pool.name);
  return resolve(chosen === '~' || chosen.startsWith('~/') ? join(homedir(), chosen.slice(1)) : chosen);
}

/** The pool key file inside a state dir. */
export function poolKeyFile(stateDir: string): string {
  return join(stateDir, 'pool.key');
}
