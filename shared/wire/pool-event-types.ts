import type { PoolEvent } from './cluster.ts';

/** What a pool event is about: the groups of the PoolEvent union in cluster.ts. */
export type PoolEventGroup = 'member' | 'leader' | 'scaling' | 'bundle' | 'upgrade';

/**
 * Every pool event type (the SSE event names of GET /events) with its group. Keyed by the union, so
 * a new PoolEvent type does not compile until it is listed here; the CLI's stream reader and the
 * live page (scripts/embed-page.mjs writes this list into it) take their event names from it.
 */
export const POOL_EVENT_GROUPS: Readonly<Record<PoolEvent['type'], PoolEventGroup>> = {
  'member-joined': 'member',
  'member-suspect': 'member',
  'member-dead': 'member',
  'member-left': 'member',
  'member-recovered': 'member',
  'member-removed': 'member',
  'leader-elected': 'leader',
  'leader-lost': 'leader',
  'leader-stepped-down': 'leader',
  'scaling-decision': 'scaling',
  retiring: 'scaling',
  'bundle-applied': 'bundle',
  'bundle-failed': 'bundle',
  'rollout-started': 'bundle',
  'rollout-halted': 'bundle',
  'rollout-complete': 'bundle',
  'upgrade-started': 'upgrade',
  'upgrade-progress': 'upgrade',
  'upgrade-halted': 'upgrade',
  'upgrade-complete': 'upgrade',
};
