import { randomBytes } from 'node:crypto';
import type { SshUsingDefinition } from '../config/ssh-schema.ts';
import { hostId, inUse, type SshHostRecord, type SshState } from './ssh-state.ts';
import { urlHost } from './ssh-util.ts';
import type { LaunchRequest } from './types.ts';
import { RemoterError, TAG_CLOUD, TAG_POOL, TAG_TOKEN } from './types.ts';

/** Which of the cloud's hosts a launch takes, recorded 'pending' before any of them is touched. */

export interface ReserveScope {
  pool: string;
  cloud: string;
  using: SshUsingDefinition;
}

/**
 * Marks `count` free hosts pending for this launch: first the hosts whose record may be replaced
 * (dead agent, cut-short launch: re-provisioned in place), then free ones in the cloud's order.
 */
export function reserveHosts(
  state: SshState,
  req: LaunchRequest,
  replaceable: (h: SshHostRecord) => boolean,
  { using, pool, cloud }: ReserveScope,
): SshHostRecord[] {
  const busy = new Set(state.hosts.filter((h) => inUse(h) && !replaceable(h)).map((h) => h.id));
  const held = new Set(state.hosts.filter(inUse).map((h) => h.id));
  const candidates = using.hosts.filter((h) => !busy.has(hostId(h.host, h.port)));
  const again = candidates.filter((h) => held.has(hostId(h.host, h.port)));
  const free = [...again, ...candidates.filter((h) => !again.includes(h))];
  if (free.length < req.count) {
    throw new RemoterError(
      `cloud '${cloud}' has ${free.length} free host${free.length === 1 ? '' : 's'} of ${using.hosts.length}, ` +
        `${req.count} requested (in use: ${[...busy].join(', ') || 'none'})`,
    );
  }
  const launchId = randomBytes(6).toString('hex');
  const now = Date.now();
  return free.slice(0, req.count).map((h) => {
    const id = hostId(h.host, h.port);
    const rec: SshHostRecord = {
      id,
      pool,
      cloud,
      host: h.host,
      port: h.port,
      prefix: h.prefix,
      bind: h.bind,
      state: 'pending',
      p2pPort: using.p2pPort,
      monitorPort: using.monitorPort,
      monitor: `http://${urlHost(h.host)}:${using.monitorPort}`,
      clientToken: req.clientToken,
      launchId,
      launchedAt: now,
      tags: { ...req.tags, [TAG_POOL]: pool, [TAG_CLOUD]: cloud, [TAG_TOKEN]: req.clientToken },
      launcherPid: process.pid,
    };
    state.hosts = [...state.hosts.filter((x) => x.id !== id), rec];
    return { ...rec };
  });
}
