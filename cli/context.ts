import { loadPool, resolveCloud } from '../shared/config/load.ts';
import { resolveStateDir } from '../shared/config/resolve.ts';
import type { PoolDefinition } from '../shared/config/schema.ts';
import { createRemoter } from '../shared/remoter/index.ts';
import type { InstanceRecord, RemoterBase } from '../shared/remoter/types.ts';
import { type OptionSpec, type OptionValues, optionalString, requireString } from './command.ts';

/** Options of every command that works on a pool definition. */
export const POOL_OPTIONS: Record<string, OptionSpec> = {
  config: { type: 'string', short: 'c', placeholder: 'FILE', description: 'pool definition (clouds.ts, .js or .json)' },
  cloud: { type: 'string', placeholder: 'NAME', description: 'the cloud to act on (default: the only one)' },
  'state-dir': {
    type: 'string',
    placeholder: 'DIR',
    description: 'pool state (key, instances); default $POOLPARTY_STATE_DIR or ~/.poolparty/<pool>',
  },
};

export interface PoolContext {
  pool: PoolDefinition;
  configFile: string;
  stateDir: string;
  /** The clouds acted on: --cloud, or every cloud of the pool. */
  clouds: string[];
  remoter(cloud: string): RemoterBase;
}

export async function openPool(values: OptionValues, cmd: string): Promise<PoolContext> {
  const configFile = requireString(values, 'config', cmd);
  const pool = await loadPool(configFile);
  const chosen = optionalString(values, 'cloud');
  const clouds = chosen === undefined ? Object.keys(pool.clouds) : [resolveCloud(pool, chosen).name];
  const stateDir = resolveStateDir(pool, optionalString(values, 'state-dir'));
  const remoters = new Map<string, RemoterBase>();
  return {
    pool,
    configFile,
    stateDir,
    clouds,
    remoter(cloud) {
      let r = remoters.get(cloud);
      if (!r) {
        r = createRemoter({ pool, cloud, stateDir });
        remoters.set(cloud, r);
      }
      return r;
    },
  };
}

/** Every instance of the chosen clouds, as their remoters report them. */
export async function listInstances(ctx: PoolContext): Promise<InstanceRecord[]> {
  const all: InstanceRecord[] = [];
  for (const cloud of ctx.clouds) all.push(...(await ctx.remoter(cloud).list({ pool: ctx.pool.name, cloud })));
  return all;
}

export const isLive = (i: InstanceRecord): boolean => i.state !== 'terminated';
