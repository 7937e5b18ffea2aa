import type { UpgradeEvent } from '../../shared/wire/cluster.ts';
import { type FollowOptions, type FollowResult, LeaderEvents, readNode, resubmitterOf } from './follow.ts';
import type { UpgradeRollbackView } from './view.ts';

/**
 * `poolparty upgrade --rollback` followed like a forward upgrade: the events of the node running
 * rollback `id` as they come, a line each time the count of returned members moves, and the end.
 * The leader returns last, and its restart ends the run it kept in memory: the run is over once
 * a node said it completed (its /upgrade, or `upgrade-complete` on its stream) or, should both be
 * missed, once the node running it is gone with nobody left to return but itself.
 */
export async function followRollback(o: FollowOptions & { id: string }): Promise<FollowResult & { done: boolean }> {
  const deadline = Date.now() + o.timeoutMs;
  const stream = new LeaderEvents(o.id, o.progress);
  const again = resubmitterOf(o);
  let lastSeen: { run: UpgradeRollbackView; monitor: string } | null = null;
  let finished = false;
  let last = '';
  let monitors = o.monitors;
  let listedAt = 0;
  try {
    for (;;) {
      const seen = await Promise.all(monitors.map(readNode));
      const nodes = seen.map((s) => s.node);
      const mine = seen.flatMap((s) => (s.rollback?.id === o.id ? [s] : []));
      const run = mine.find((s) => s.rollback?.leading)?.rollback ?? mine[0]?.rollback ?? null;
      stream.follow(mine.find((s) => s.rollback?.leading)?.node.monitor ?? null);
      if (run?.halted) return { nodes, halted: named(run.halted, stream.events), done: false, events: stream.events };
      // The node that ran it answers again, as a new process without it, after only itself was left.
      const restarted = (prev: typeof lastSeen) =>
        prev !== null &&
        prev.run.queue.length === 0 &&
        prev.run.current === null &&
        seen.some((s) => s.node.monitor === prev.monitor && !s.node.error && s.rollback?.id !== o.id);
      finished ||=
        run?.completedAt !== undefined ||
        stream.events.some((e) => e.type === 'upgrade-complete') ||
        restarted(lastSeen);
      const runAt = mine.find((s) => s.rollback === run)?.node.monitor;
      if (run && runAt) lastSeen = { run, monitor: runAt };
      const ready = nodes.filter((n) => n.ready).length;
      const line = run
        ? `rollback: ${run.done.length} node(s) returned, ${run.queue.length + (run.current ? 1 : 0)} to go, then the leader`
        : `rollback: ${ready}/${nodes.length} nodes ready`;
      if (line !== last) o.progress(line);
      last = line;
      if (finished && ready === nodes.length) return { nodes, halted: null, done: true, events: stream.events };
      // Over, but a node does not answer: one the provider no longer runs (killed) is not waited for.
      if (finished && o.live && Date.now() - listedAt > 5000) {
        listedAt = Date.now();
        const live = new Set(await o.live().catch(() => monitors));
        monitors = monitors.filter((m) => live.has(m) || seen.some((s) => s.node.monitor === m && !s.node.error));
      }
      if (Date.now() >= deadline) return { nodes, halted: null, done: false, events: stream.events };
      // Nobody drives it (its leader died before telling any member): the same request again.
      again?.observe(
        mine.some((s) => s.rollback?.leading && s.rollback.completedAt === undefined),
        finished,
      );
      await new Promise((r) => setTimeout(r, o.pollMs));
    }
  } finally {
    stream.close();
    await again?.settle();
  }
}

/** The halt with the member's instance id, which the run's events name (its view has peer ids). */
function named(h: NonNullable<UpgradeRollbackView['halted']>, events: UpgradeEvent[]): FollowResult['halted'] {
  const told = events.find((e) => e.type === 'upgrade-halted' && e.peerId === h.peerId);
  const instanceId = told && 'instanceId' in told ? told.instanceId : h.peerId;
  return { peerId: h.peerId, instanceId, reason: h.reason, at: h.at };
}
