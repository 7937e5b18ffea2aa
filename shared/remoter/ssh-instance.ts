import type { HealthView } from '../wire/cluster.ts';
import type { SshHostRecord } from './ssh-state.ts';
import type { InstanceRecord } from './types.ts';

/** The ssh remoter base's instance records: a host's state record, with its agent's /health when asked. */

export type AgentHealth = 'healthy' | 'unreachable' | 'unknown';

export interface SshInstanceRecord extends InstanceRecord {
  host: string;
  port: number;
  prefix: string;
  peerId?: string;
  /** The agent's answer to GET /health when listed ('unknown' for hosts not running). */
  agent: AgentHealth;
  health?: HealthView;
  error?: string;
}

/** `health`: undefined = not asked (host not running), null = asked and no answer. */
export function toRecord(h: SshHostRecord, health?: HealthView | null): SshInstanceRecord {
  const rec: SshInstanceRecord = {
    id: h.id,
    state: h.state,
    privateIp: h.host,
    launchedAt: h.launchedAt,
    tags: { ...h.tags },
    monitor: h.monitor,
    host: h.host,
    port: h.port,
    prefix: h.prefix,
    agent: health === undefined ? 'unknown' : health === null ? 'unreachable' : 'healthy',
  };
  if (h.peerId) rec.peerId = h.peerId;
  if (health) rec.health = health;
  if (h.error) rec.error = h.error;
  return rec;
}
