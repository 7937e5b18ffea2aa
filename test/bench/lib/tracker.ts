import type { RawEvent } from './protocol.ts';

/** What one observing agent believes, rebuilt from its raw events. */
interface Observer {
  states: Map<string, string>;
  leader: { peerId: string; term: number; at: number } | null;
  events: RawEvent[];
  /** When this observer first saw `target` members alive (itself included). */
  convergedAt: number | null;
}

const STATE_OF: Record<string, string | null> = {
  'member-joined': 'alive',
  'member-recovered': 'alive',
  'member-suspect': 'suspect',
  'member-dead': 'dead',
  'member-left': 'left',
  'member-removed': null,
};

/**
 * Pure bookkeeping over raw events from many agents: who sees whom in which state, who follows
 * which leader and since when. Times are the observing agents' own timestamps (one host clock).
 */
export class Tracker {
  readonly #observers = new Map<string, Observer>();
  #target = 0;

  /** Members (self included) an observer must see alive to count as converged. */
  setTarget(n: number): void {
    this.#target = n;
    for (const o of this.#observers.values()) o.convergedAt = null;
  }

  add(observer: string): void {
    this.#observers.set(observer, { states: new Map(), leader: null, events: [], convergedAt: null });
  }

  ingest(observer: string, e: RawEvent): void {
    const o = this.#observers.get(observer);
    if (!o) return;
    o.events.push(e);
    if (e.type in STATE_OF) {
      const s = STATE_OF[e.type];
      if (s === null) o.states.delete(e.peerId);
      else if (s !== undefined) o.states.set(e.peerId, s);
      if (o.convergedAt === null && this.#target > 0 && this.aliveSeenBy(observer) >= this.#target) {
        o.convergedAt = e.at;
      }
    } else if (e.type === 'leader-elected') {
      o.leader = { peerId: e.peerId, term: e.term ?? 0, at: e.at };
    } else if (e.type === 'leader-lost' || e.type === 'leader-stepped-down') {
      if (o.leader?.peerId === e.peerId && e.type === 'leader-lost') o.leader = null;
    }
  }

  aliveSeenBy(observer: string): number {
    const o = this.#observers.get(observer);
    if (!o) return 0;
    let n = 1;
    for (const s of o.states.values()) if (s === 'alive') n++;
    return n;
  }

  /** How many of `observers` hold `peer` alive. */
  seenAliveBy(observers: readonly string[], peer: string): number {
    return observers.filter((id) => this.#observers.get(id)?.states.get(peer) === 'alive').length;
  }

  /** The time the last of `observers` converged, or null while one has not. */
  convergedAt(observers: readonly string[]): number | null {
    let last = 0;
    for (const id of observers) {
      const at = this.#observers.get(id)?.convergedAt ?? null;
      if (at === null) return null;
      last = Math.max(last, at);
    }
    return last;
  }

  /** When each observer first saw the target alive (null: not yet). */
  convergedTimes(observers: readonly string[]): Array<number | null> {
    return observers.map((id) => this.#observers.get(id)?.convergedAt ?? null);
  }

  /**
   * Why views are short, pair by pair: `missing` (observer, member) pairs among `observers` where the
   * observer does not hold the member alive; `neverJoined`, members that hold nobody else alive
   * and that nobody else holds alive (their join never got through, so no gossip or sync could
   * carry them); `ofJoined`, missing pairs between two members that both joined (news that did
   * not spread, or a member held suspect or dead).
   */
  missingPairs(observers: readonly string[]): { missing: number; neverJoined: string[]; ofJoined: number } {
    const neverJoined = observers.filter((m) => this.aliveSeenBy(m) === 1 && this.seenAliveBy(observers, m) === 0);
    const out = new Set(neverJoined);
    const joined = observers.filter((m) => !out.has(m));
    let missing = 0;
    for (const m of observers) missing += observers.length - 1 - this.seenAliveBy(observers, m);
    let ofJoined = 0;
    for (const m of joined) ofJoined += joined.length - 1 - this.seenAliveBy(joined, m);
    return { missing, neverJoined, ofJoined };
  }

  notConverged(observers: readonly string[]): string[] {
    return observers.filter((id) => (this.#observers.get(id)?.convergedAt ?? null) === null);
  }

  /** First time each observer emitted `type` about `peer` at or after `since`; null where it has not. */
  firstEvent(observers: readonly string[], type: string, peer: string, since: number): Array<number | null> {
    return observers.map((id) => {
      const e = this.#observers.get(id)?.events.find((x) => x.type === type && x.peerId === peer && x.at >= since);
      return e ? e.at : null;
    });
  }

  /** Raw events about `peers` of the given types at or after `since`, from any observer. */
  eventsAbout(peers: ReadonlySet<string>, types: ReadonlySet<string>, since: number): Array<RawEvent & { by: string }> {
    const out: Array<RawEvent & { by: string }> = [];
    for (const [by, o] of this.#observers) {
      for (const e of o.events) if (e.at >= since && types.has(e.type) && peers.has(e.peerId)) out.push({ ...e, by });
    }
    return out;
  }

  leaderOf(observer: string): { peerId: string; term: number; at: number } | null {
    return this.#observers.get(observer)?.leader ?? null;
  }

  /**
   * When every observer follows the same leader other than `old`: that leader and the time the
   * last observer adopted it; null while they disagree or any still follows `old` or nobody.
   */
  agreedLeader(observers: readonly string[], old: string): { peerId: string; term: number; at: number } | null {
    let agreed: { peerId: string; term: number; at: number } | null = null;
    for (const id of observers) {
      const l = this.leaderOf(id);
      if (!l || l.peerId === old) return null;
      if (agreed && (agreed.peerId !== l.peerId || agreed.term !== l.term)) return null;
      agreed = agreed ? { ...l, at: Math.max(agreed.at, l.at) } : l;
    }
    return agreed;
  }
}
