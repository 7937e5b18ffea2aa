import type { Heartbeat } from '../../shared/wire/heartbeat.ts';

/** A member's record as gossip carries it: a valid heartbeat of `peerId` with `over` applied. */
export function memberRecord(peerId: string, over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    v: 2,
    type: 'heartbeat',
    peerId,
    instanceId: peerId,
    cloud: 'web',
    addrs: [],
    monitor: '',
    startedAt: 0,
    seq: 1,
    version: '0',
    metrics: {},
    ...over,
  };
}
