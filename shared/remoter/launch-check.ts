import type { LaunchRequest } from './types.ts';
import { RemoterError } from './types.ts';

/**
 * What every provider refuses in a launch request before it reserves or calls anything: a request
 * for another cloud (a leader must never launch one cloud's instances through another's remoter)
 * or a count that is not a whole number of instances.
 */
export function checkLaunchTarget(req: LaunchRequest, cloud: string): void {
  if (req.cloud !== cloud) throw new RemoterError(`this remoter launches into cloud '${cloud}', not '${req.cloud}'`);
  if (!Number.isInteger(req.count) || req.count < 0) throw new RemoterError(`invalid count ${req.count}`);
}

/**
 * The launch checks of the providers whose records PoolParty keeps itself (local, ssh): the
 * target, a client token (the idempotency key of the write-ahead record) and string tag values.
 * EC2 and vSphere check token and tags against their own limits instead.
 */
export function checkRecordedLaunch(req: LaunchRequest, cloud: string): void {
  checkLaunchTarget(req, cloud);
  if (!req.clientToken) throw new RemoterError('a clientToken is required');
  for (const [key, value] of Object.entries(req.tags ?? {})) {
    if (typeof value !== 'string') throw new RemoterError(`tag '${key}' must be a string, got ${typeof value}`);
  }
}
