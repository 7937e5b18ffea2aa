import type { PoolEvent } from '../shared/wire/cluster.ts';
import { POOL_EVENT_GROUPS, type PoolEventGroup } from '../shared/wire/pool-event-types.ts';

/**
 * Which node's GET /events a follower of the whole pool takes each event from. Every node emits
 * membership and leadership events about the pool it sees, so those come from one followed node
 * (from every node they would print once per node). Scaling decisions, rollouts and upgrades are
 * emitted by the leader only, and `retiring`, `bundle-applied` and `bundle-failed` by the node
 * they are about: those come from every node, or whichever node that is would be missed.
 */
export type EventSource = 'followed-node' | 'every-node';

const SOURCE_OF_GROUP: Readonly<Record<PoolEventGroup, EventSource>> = {
  member: 'followed-node',
  leader: 'followed-node',
  scaling: 'every-node',
  bundle: 'every-node',
  upgrade: 'every-node',
};

/**
 * Where `event` is taken from; undefined for the leader's routine "nothing to do" decisions (one
 * every evaluation: they are in `poolparty status`, not worth a line each).
 */
export function eventSource(event: PoolEvent): EventSource | undefined {
  if (event.type === 'scaling-decision' && event.action === 'none' && event.blocked === undefined) return undefined;
  return SOURCE_OF_GROUP[POOL_EVENT_GROUPS[event.type]];
}
