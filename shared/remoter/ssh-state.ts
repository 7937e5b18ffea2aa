import { join } from 'node:path';
import { JsonStore } from './json-store.ts';
import { processRuns } from './pid.ts';
import type { InstanceState } from './types.ts';

/**
 * The ssh provider's state, `<stateDir>/ssh/hosts.json`: which of the cloud's static hosts are in
 * use, by which launch, with which agent identity. One record per host:port (a host launched
 * again after terminate gets its record back), so instance ids stay unique.
 */

export interface SshHostRecord {
  /** The instance id: the host, with ':port' unless the port is 22. Also the agent's instanceId. */
  id: string;
  pool: string;
  cloud: string;
  host: string;
  port: number;
  prefix: string;
  bind: string;
  /**
   * pending: being provisioned (or a provisioning failed after files were installed: see error);
   * running: provisioned and answered /health; stopping: being deprovisioned (or that failed);
   * terminated: free again.
   */
  state: InstanceState;
  peerId?: string;
  p2pPort: number;
  monitorPort: number;
  monitor: string;
  clientToken: string;
  launchId: string;
  /** Epoch ms. */
  launchedAt: number;
  terminatedAt?: number;
  tags: Record<string, string>;
  init?: 'systemd' | 'none';
  /** The last provisioning or deprovisioning failure, one line. */
  error?: string;
  /**
   * While pending: the pid of the process provisioning it (on the machine that holds this state).
   * A pending record whose launcher no longer runs was cut short; reconcile settles it.
   */
  launcherPid?: number;
}

export interface SshState {
  version: 1;
  hosts: SshHostRecord[];
}

export interface SshStoreTunables {
  lockTimeout: number;
  lockPoll: number;
  lockStaleAfter: number;
}

export function sshStateStore(stateDir: string, t: SshStoreTunables): JsonStore<SshState> {
  return new JsonStore<SshState>({
    file: join(stateDir, 'ssh', 'hosts.json'),
    empty: () => ({ version: 1, hosts: [] }),
    check: (value): asserts value is SshState => {
      const v = value as Partial<SshState>;
      if (v?.version !== 1 || !Array.isArray(v.hosts)) throw new Error('unknown format');
    },
    ...t,
  });
}

export function hostId(host: string, port: number): string {
  return port === 22 ? host : `${host}:${port}`;
}

/** True when a pending record's launcher died before recording the outcome. */
export function cutShort(r: SshHostRecord): boolean {
  return r.state === 'pending' && (r.launcherPid === undefined || !processRuns(r.launcherPid));
}

/** A record holds its host unless terminated. */
export function inUse(r: SshHostRecord): boolean {
  return r.state !== 'terminated';
}
