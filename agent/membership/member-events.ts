import type { MemberEvent } from '../../shared/wire/cluster.ts';
import type { Heartbeat } from '../../shared/wire/heartbeat.ts';
import type { LostMembers } from './reconnect.ts';

export interface MemberEventsOptions {
  /** A member's record, when it takes part (bound, or its cloud unchecked). */
  record: (id: string) => Heartbeat | undefined;
  /** Where a member listened (kept to retry it when it is lost). */
  addrs: (id: string) => string[];
  lost: LostMembers;
  now: () => number;
  emit: (e: MemberEvent) => void;
  /** Pulls a member's table now (a sync with it). */
  pull: (id: string) => void;
}

/**
 * Member events as the rest of the agent sees them: the core's joins, deaths and leaves, told
 * only for members that take part — a join waits for the member's record and its binding, and a
 * member never announced is never announced removed.
 */
export class MemberEvents {
  readonly #o: MemberEventsOptions;
  /** Joined per the core, waiting for the record (and binding) that says who they are. */
  readonly #pending = new Set<string>();
  /** Members whose join was announced (so their removal is too). */
  readonly #joined = new Set<string>();

  constructor(opts: MemberEventsOptions) {
    this.#o = opts;
  }

  /** An event of the core. */
  core(type: MemberEvent['type'], id: string, at: number): void {
    const record = this.#o.record(id);
    if (!record) {
      if (type === 'member-joined') this.#pending.add(id);
      return;
    }
    this.#announce({ type, peerId: id, instanceId: record.instanceId, at });
  }

  /** A member's record arrived, or it became bound: a join waiting for it is announced. */
  arrived(id: string): void {
    const r = this.#o.record(id);
    if (r && this.#pending.delete(id))
      this.#announce({ type: 'member-joined', peerId: id, instanceId: r.instanceId, at: this.#o.now() });
  }

  /**
   * A member bound only now (its launch recorded after it joined): a join the core told is announced
   * now; one it never told (the member's tables were ignored while it took no part, member-inbox.ts)
   * is pulled at once, not left out until the member's next sync, ~10 s on (finding K, session 23).
   */
  bound(id: string): void {
    if (this.#pending.has(id) || this.#joined.has(id)) this.arrived(id);
    else this.#o.pull(id);
  }

  /** After a table pull: every join that waited for a record. */
  arrivedAll(): void {
    for (const id of [...this.#pending]) this.arrived(id);
  }

  /** Records forgotten (reaped, or refused for good on a re-check). */
  removed(records: Iterable<Heartbeat>): void {
    for (const r of records)
      if (this.#joined.delete(r.peerId))
        this.#o.emit({ type: 'member-removed', peerId: r.peerId, instanceId: r.instanceId, at: this.#o.now() });
  }

  #announce(e: MemberEvent): void {
    if (e.type === 'member-dead') this.#o.lost.lost(e.peerId, this.#o.addrs(e.peerId), e.at);
    else if (e.type !== 'member-removed') this.#o.lost.found(e.peerId);
    if (e.type === 'member-joined') this.#joined.add(e.peerId);
    this.#o.emit(e);
  }
}
