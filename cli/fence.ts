import type { Logger } from '../shared/log.ts';
import { cliLogger, type PoolContext } from './context.ts';

/**
 * The "pool stopping" fence: before `terminate` ends anything, every leader of the pool is told to
 * stop launching and healing (a signed control message, honoured before any action), so the sweep
 * is not raced by self-healing. The agents do not implement it yet: this is the hook where the
 * CLI will send it. Until then the sweep's repeated rounds are what beat a leader that relaunches.
 */
export async function fencePool(ctx: PoolContext, log: Logger = cliLogger()): Promise<void> {
  log.debug('fence: not supported by agents yet', { pool: ctx.pool.name, clouds: ctx.clouds });
}
