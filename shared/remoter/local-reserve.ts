import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { PoolDefinition } from '../config/schema.ts';
import { allocateAddresses } from './address.ts';
import type { LocalInstance, LocalState } from './local-state.ts';
import type { LaunchRequest } from './types.ts';
import { RemoterError, TAG_CLOUD, TAG_POOL, TAG_TOKEN } from './types.ts';

/** The instances a launch creates, recorded 'launching' before any process starts. */

export interface ReserveScope {
  pool: PoolDefinition;
  /** The remoter's state dir, `<stateDir>/local`: one subdirectory per instance. */
  dir: string;
  /** Most loopback addresses examined (LocalRemoterTunables.maxAddressScan). */
  maxAddressScan: number;
}

/** Records `count` new instances 'launching' in `state` (not yet written), each with a fresh id. */
export async function reserveInstances(
  state: LocalState,
  req: LaunchRequest,
  { pool, dir: root, maxAddressScan }: ReserveScope,
): Promise<LocalInstance[]> {
  const { using } = pool.clouds[req.cloud]!;
  if (using.provider !== 'local') throw new RemoterError(`cloud '${req.cloud}' does not use the local provider`);
  const live = state.instances.filter((i) => i.state !== 'terminated' && i.pool === pool.name);
  const addresses = await allocateAddresses({
    first: using.firstAddress,
    count: req.count,
    taken: new Set(live.map((i) => i.address)),
    ports: [using.p2pPort, using.monitorPort],
    maxScan: maxAddressScan,
  });
  const launchId = randomBytes(6).toString('hex');
  const launchedAt = Date.now();
  return addresses.map((address) => {
    const id = `local-${state.nextIndex++}`;
    const dir = join(root, id);
    const inst: LocalInstance = {
      id,
      pool: pool.name,
      cloud: req.cloud,
      state: 'launching',
      address,
      p2pPort: using.p2pPort,
      monitorPort: using.monitorPort,
      launchedAt,
      clientToken: req.clientToken,
      launchId,
      // The caller's tags (a leader's poolparty:term, poolparty:action) never replace ours.
      tags: { ...req.tags, [TAG_POOL]: pool.name, [TAG_CLOUD]: req.cloud, [TAG_TOKEN]: req.clientToken },
      monitor: `http://${address}:${using.monitorPort}`,
      configFile: join(dir, 'agent.json'),
      logFile: join(dir, 'agent.log'),
    };
    state.instances.push(inst);
    return inst;
  });
}
