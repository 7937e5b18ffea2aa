import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAgentAlive } from './local-process.ts';
import type { LocalInstance, LocalState } from './local-state.ts';
import type { InstanceRecord } from './types.ts';

/** The local provider's records: how they are matched, pruned and reported. Pure but for /proc reads. */

/** An instance as the local provider reports it: the common record plus process details. */
export interface LocalInstanceRecord extends InstanceRecord {
  /** Absent while 'pending': the launch recorded it and has not started its process yet. */
  pid?: number;
  peerId?: string;
  address: string;
  logFile: string;
}

/** The cloud named in an agent config file; undefined when it cannot be read. */
export function cloudOf(configFile: string): string | undefined {
  try {
    const cloud = (JSON.parse(readFileSync(configFile, 'utf8')) as { cloud?: unknown }).cloud;
    return typeof cloud === 'string' ? cloud : undefined;
  } catch {
    return undefined;
  }
}

/** True when the instance's recorded process runs and is its agent. */
export function runs(i: { pid?: number; configFile: string }): boolean {
  return i.pid !== undefined && isAgentAlive(i.pid, i.configFile);
}

/** The instances of the most recent launch made with `token`. */
export function latestLaunch(state: LocalState, token: string): LocalInstance[] {
  const withToken = state.instances.filter((i) => i.clientToken === token);
  const last = withToken.at(-1);
  return last ? withToken.filter((i) => i.launchId === last.launchId) : [];
}

export async function waitForExit<T extends { pid?: number; configFile: string }>(
  insts: T[],
  timeout: number,
  poll: number,
): Promise<T[]> {
  const deadline = Date.now() + timeout;
  let alive = insts.filter(runs);
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(poll);
    alive = alive.filter(runs);
  }
  return alive;
}

export function markTerminated(inst: LocalInstance): void {
  inst.state = 'terminated';
  inst.terminatedAt = Date.now();
}

export function prune(state: LocalState, keep: number): void {
  const dead = state.instances.filter((i) => i.state === 'terminated');
  if (dead.length <= keep) return;
  const drop = new Set(
    dead
      .sort((a, b) => (a.terminatedAt ?? 0) - (b.terminatedAt ?? 0))
      .slice(0, dead.length - keep)
      .map((i) => i.id),
  );
  state.instances = state.instances.filter((i) => !drop.has(i.id));
}

export function multiaddr(i: Pick<LocalInstance, 'address' | 'p2pPort' | 'peerId'>): string {
  return `/ip4/${i.address}/tcp/${i.p2pPort}/p2p/${i.peerId}`;
}

export function toRecord(i: LocalInstance): LocalInstanceRecord {
  return {
    id: i.id,
    state: i.state === 'launching' ? 'pending' : i.state,
    privateIp: i.address,
    launchedAt: i.launchedAt,
    tags: { ...i.tags },
    monitor: i.monitor,
    ...(i.pid !== undefined ? { pid: i.pid } : {}),
    ...(i.peerId !== undefined ? { peerId: i.peerId } : {}),
    address: i.address,
    logFile: i.logFile,
  };
}
