import type { VictimPolicy } from './config.ts';

export interface VictimCandidate {
  instanceId: string;
  peerId: string;
  startedAt: number;
  load: number | null;
}

export interface VictimChoice {
  victims: VictimCandidate[];
  /** Why fewer than asked were chosen, if so. */
  shortfall?: string;
}

/**
 * Picks `count` nodes to retire. Never a node younger than minimumRuntime, never one already
 * retiring, and never the leader while another candidate exists (the leader hands over first
 * when it is the only one left). Deterministic: ties break by instance id.
 */
export function chooseVictims(
  candidates: readonly VictimCandidate[],
  opts: {
    count: number;
    policy: VictimPolicy;
    now: number;
    minimumRuntime: number;
    leaderPeerId: string;
    retiring: ReadonlySet<string>;
  },
): VictimChoice {
  const old = candidates.filter((c) => opts.now - c.startedAt >= opts.minimumRuntime && !opts.retiring.has(c.peerId));
  const order = (a: VictimCandidate, b: VictimCandidate): number => {
    let d = 0;
    if (opts.policy === 'least-loaded') d = (a.load ?? Number.POSITIVE_INFINITY) - (b.load ?? Number.POSITIVE_INFINITY);
    else if (opts.policy === 'newest') d = b.startedAt - a.startedAt;
    else d = a.startedAt - b.startedAt;
    return d || (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0);
  };
  const others = old.filter((c) => c.peerId !== opts.leaderPeerId).sort(order);
  const leader = old.filter((c) => c.peerId === opts.leaderPeerId);
  const victims = [...others, ...leader].slice(0, opts.count);
  if (victims.length >= opts.count) return { victims };
  const young = candidates.length - old.length;
  return {
    victims,
    shortfall: `only ${victims.length} of ${opts.count} eligible (${young} younger than minimumRuntime or retiring)`,
  };
}
