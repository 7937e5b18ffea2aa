import type { PoolDefinition } from '../config/schema.ts';
import { createLocalRemoter, type LocalRemoterOptions } from './local.ts';
import type { RemoterBase } from './types.ts';
import { RemoterError } from './types.ts';

export type { LocalInstanceRecord, LocalRemoterOptions, LocalRemoterTunables } from './local.ts';
export { createLocalRemoter, LOCAL_REMOTER_DEFAULTS, LocalRemoter } from './local.ts';
export * from './types.ts';

export interface RemoterContext {
  pool: PoolDefinition;
  cloud: string;
  stateDir: string;
  /** Provider-specific extras (local: agentBin, grace periods…). */
  local?: Partial<Omit<LocalRemoterOptions, 'pool' | 'cloud' | 'stateDir'>>;
}

/** The remoter base of a cloud, chosen by its `using.provider`. */
export function createRemoter(ctx: RemoterContext): RemoterBase {
  const cloud = ctx.pool.clouds[ctx.cloud];
  if (!cloud) throw new RemoterError(`pool '${ctx.pool.name}' has no cloud '${ctx.cloud}'`);
  switch (cloud.using.provider) {
    case 'local':
      return createLocalRemoter({ ...ctx.local, pool: ctx.pool, cloud: ctx.cloud, stateDir: ctx.stateDir });
    default:
      throw new RemoterError(`unknown provider '${(cloud.using as { provider: string }).provider}'`);
  }
}
