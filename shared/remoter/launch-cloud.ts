import type { CloudDefinition } from '../config/schema.ts';
import { type LaunchContext, RemoterError } from './types.ts';

type Using = CloudDefinition['using'];

/** The cloud a remoter base launches into: its provider block, and the monitor port its records name. */
export interface LaunchCloud<P extends Using['provider']> {
  using: Extract<Using, { provider: P }>;
  monitorPort: number;
}

/**
 * `opts.cloud` of `opts.pool`, checked to exist and to use `provider`: a base built for a cloud of
 * another provider is a caller's bug, refused before it can launch anything.
 */
export function launchCloud<P extends Using['provider']>(
  opts: Pick<LaunchContext, 'pool' | 'cloud'>,
  provider: P,
): LaunchCloud<P> {
  const cloud = opts.pool.clouds[opts.cloud];
  if (!cloud) throw new RemoterError(`pool '${opts.pool.name}' has no cloud '${opts.cloud}'`);
  if (cloud.using.provider !== provider)
    throw new RemoterError(`cloud '${opts.cloud}' does not use the ${provider} provider`);
  return { using: cloud.using as Extract<Using, { provider: P }>, monitorPort: cloud.monitor.port };
}
