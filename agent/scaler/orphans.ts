import type { InstanceRecord } from '../../shared/remoter/types.ts';
import type { MemberView } from '../../shared/wire/cluster.ts';
import type { ScalerDeps } from './deps.ts';

/** Instances a scaler remembers as once seen (far above any cloud's max). */
const MAX_SEEN = 10_000;

export interface Orphan {
  id: string;
  why: string;
}

type OrphanDeps = Pick<ScalerDeps, 'config' | 'deadAfter' | 'replaceAfter' | 'leaseHeldFor'>;

/**
 * Which of a cloud's listed instances no longer serve the pool (never joined, dead, left, reaped
 * from the view) and should be replaced, without costing a healthy machine its place for a short
 * partition (I2 in ARCHITECTURE.md).
 */
export class OrphanWatch {
  readonly #d: OrphanDeps;
  /**
   * Instances of this cloud seen as members (kept on every node, so a new leader has it): when
   * last heard from (epoch ms) and whether they had left. A member reaped from the view is not
   * an instance that "never joined": it is replaced like a dead one, after replaceAfter.
   */
  readonly #seen = new Map<string, { at: number; left: boolean }>();

  constructor(deps: OrphanDeps) {
    this.#d = deps;
  }

  /** Notes when each member of this cloud was last heard from; forgets what is long gone (bounded). */
  remember(members: MemberView[], now: number): void {
    for (const m of members) {
      const at = now - m.lastSeenMs;
      const cur = this.#seen.get(m.instanceId);
      if (!cur || cur.at <= at) this.#seen.set(m.instanceId, { at, left: m.state === 'left' });
    }
    const horizon = now - 2 * Math.max(this.#d.replaceAfter, this.#d.config.joinTimeout);
    for (const [id, e] of this.#seen) if (e.at < horizon) this.#seen.delete(id);
    for (const id of this.#seen.keys()) {
      if (this.#seen.size <= MAX_SEEN) break;
      this.#seen.delete(id);
    }
  }

  /** The listed instances to replace, with why; those being retired are not orphans. */
  orphans(
    listed: InstanceRecord[],
    cloudMembers: MemberView[],
    retiring: ReadonlySet<string> | ReadonlyMap<string, unknown>,
    now: number,
  ): Orphan[] {
    const { config, deadAfter, replaceAfter } = this.#d;
    const members = new Map(cloudMembers.map((m) => [m.instanceId, m]));
    const out: Orphan[] = [];
    for (const inst of listed) {
      if (retiring.has(inst.id)) continue;
      const m = members.get(inst.id);
      const seen = this.#seen.get(inst.id);
      if (!m && seen) {
        // Reaped from the view after it died or left: the rules below, from when it was last heard.
        const silent = now - seen.at;
        if (seen.left ? silent <= config.drainTimeout : silent <= deadAfter + config.deadGrace) continue;
        if (!seen.left && inst.state === 'running' && (silent < replaceAfter || !this.#evidenced())) continue;
        out.push({ id: inst.id, why: `${inst.id} gone from the view, last heard ${Math.round(silent / 1000)}s ago` });
      } else if (!m && now - inst.launchedAt > config.joinTimeout) {
        // A leader that has not watched it since its launch (with a quorum) cannot tell "never
        // joined" from "joined, then cut off and reaped": for a running instance, wait replaceAfter.
        const heldFor = this.#d.leaseHeldFor?.() ?? Number.POSITIVE_INFINITY;
        const watchedSinceLaunch = now - heldFor <= inst.launchedAt;
        if (inst.state === 'running' && !watchedSinceLaunch && heldFor < replaceAfter) continue;
        out.push({ id: inst.id, why: `${inst.id} never joined within ${config.joinTimeout / 1000}s` });
      } else if (m?.state === 'dead' && m.lastSeenMs > deadAfter + config.deadGrace) {
        // The provider still runs it: only replace after replaceAfter (I2 in ARCHITECTURE.md).
        if (inst.state === 'running' && (m.lastSeenMs < replaceAfter || !this.#evidenced())) continue;
        out.push({ id: inst.id, why: `${inst.id} dead for ${Math.round(m.lastSeenMs / 1000)}s` });
      } else if (m?.state === 'left' && m.lastSeenMs > config.drainTimeout) {
        // Retired (or stopped) agents whose instance still runs: not part of the pool any more.
        out.push({ id: inst.id, why: `${inst.id} left the pool ${Math.round(m.lastSeenMs / 1000)}s ago` });
      }
    }
    return out;
  }

  /** Whether this leader's view of who is unreachable was gathered with a quorum for replaceAfter. */
  #evidenced(): boolean {
    return (this.#d.leaseHeldFor?.() ?? Number.POSITIVE_INFINITY) >= this.#d.replaceAfter;
  }
}
