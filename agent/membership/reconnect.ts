import { multiaddr } from '@multiformats/multiaddr';
import type { PoolNode } from '../p2p/node.ts';
import { classifyDialError } from '../transport/channel.ts';

/**
 * Members this node lost (declared dead), with where they listened, so it can try them again:
 * after a partition heals, each side holds the other dead and nobody probes a dead member, so
 * without retrying them the two views never merge (seen in the fault suite: a 2+3 split stayed
 * split for good). Serf's reconnect does the same. LostMembers is pure and bounded; retryLost
 * (below) is one retry.
 *
 * Each member is retried soon after it was lost (a healed partition should merge within
 * seconds), then rarely (a member that really died costs one refused dial per `slowEvery`).
 * A retry its host refused (nothing listens there: the agent is gone, not cut off) moves the
 * member to the slow rate at once, so the fast phase can last as long as a partition may (a cut
 * is silence, not refusal) without dead members costing a dial every `fastEvery` all that time.
 */
export interface LostOptions {
  /** Members remembered at most (the oldest go first). */
  max: number;
  /** How long a lost member is retried at all (ms). */
  keepFor: number;
  /** Retry interval during the first `fastFor` ms after the loss (ms). */
  fastEvery: number;
  fastFor: number;
  /** Retry interval after that (ms). */
  slowEvery: number;
}

interface Lost {
  addrs: string[];
  since: number;
  next: number;
}

export class LostMembers {
  readonly #lost = new Map<string, Lost>();
  readonly #o: LostOptions;

  constructor(opts: LostOptions) {
    this.#o = opts;
  }

  lost(id: string, addrs: readonly string[], now: number): void {
    if (addrs.length === 0) return;
    this.#lost.delete(id);
    if (this.#lost.size >= this.#o.max) {
      const oldest = this.#lost.keys().next().value;
      if (oldest !== undefined) this.#lost.delete(oldest);
    }
    this.#lost.set(id, { addrs: [...addrs], since: now, next: now + this.#o.fastEvery });
  }

  /** A member is back (alive again, or it left for good): stop trying it. */
  found(id: string): void {
    this.#lost.delete(id);
  }

  /** A retry of `id` was refused by its host: it died, so it is retried only every `slowEvery` from now. */
  refused(id: string, now: number): void {
    const l = this.#lost.get(id);
    if (l) l.next = Math.max(l.next, now + this.#o.slowEvery);
  }

  /** One lost member due for a retry now (picked with `rand` in [0, 1)), and schedules its next. */
  pick(now: number, rand: number): { id: string; addrs: string[] } | undefined {
    const due: string[] = [];
    for (const [id, l] of this.#lost) {
      if (now - l.since > this.#o.keepFor) this.#lost.delete(id);
      else if (l.next <= now) due.push(id);
    }
    const id = due[Math.floor(rand * due.length)];
    const l = id === undefined ? undefined : this.#lost.get(id);
    if (id === undefined || !l) return undefined;
    l.next = now + (now - l.since < this.#o.fastFor ? this.#o.fastEvery : this.#o.slowEvery);
    return { id, addrs: l.addrs };
  }

  get size(): number {
    return this.#lost.size;
  }
}

/** What one retry of a lost member reads and does (Joining's options). */
export interface RetryLostInput {
  node: Pick<PoolNode, 'dial'>;
  lost: LostMembers;
  now: () => number;
  running: () => boolean;
  isAlive: (id: string) => boolean;
  /** Pulls the table from a peer (and pushes what we hold about it). */
  sync: (peer: string) => Promise<boolean>;
}

/**
 * Tries one lost member: a sync with it merges the two views, and each side learns the other
 * declared it dead, so it refutes and its alive is flooded (a healed partition merges).
 */
export async function retryLost(o: RetryLostInput): Promise<void> {
  if (!o.running()) return;
  const target = o.lost.pick(o.now(), Math.random());
  if (!target || o.isAlive(target.id)) {
    if (target) o.lost.found(target.id);
    return;
  }
  let refused = 0;
  for (const addr of target.addrs) {
    try {
      await o.node.dial(multiaddr(`${addr}/p2p/${target.id}`), { signal: AbortSignal.timeout(2_000) });
      await o.sync(target.id);
      return;
    } catch (err) {
      // Still gone (or still cut off): try again at a later turn.
      if (classifyDialError(err) === 'refused') refused++;
    }
  }
  // Every address answered that nothing listens: gone, not cut off.
  if (refused > 0 && refused === target.addrs.length) o.lost.refused(target.id, o.now());
}
