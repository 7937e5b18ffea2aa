import type { SwimConfig } from './config.ts';
import { validIncarnation } from './digest.ts';
import type { Roster } from './overlay.ts';
import { inRing, supersedes } from './precedence.ts';
import { Suspicions } from './suspicion.ts';
import { MemberTable, Tombstones } from './table.ts';
import type { Effect, MemberEventType, MemberLiveness, Update } from './types.ts';

/**
 * What this node believes of the members: the liveness table, the tombstones of the departed,
 * the suspicions and the queue of the dead and left awaiting reaping. Pure, like the core that
 * owns it: an update about another member is applied here by precedence; updates about this
 * node itself (refutation) stay with the core, which owns its incarnation.
 */
export class PeerView {
  readonly table: MemberTable;
  readonly tombstones: Tombstones;
  readonly suspicions: Suspicions;
  /** Set when a member joined or left the rings: the core recomputes its neighbours. */
  ringDirty = true;
  /** Unknown members refused because the table was full. */
  dropped = 0;
  private readonly self: string;
  private readonly cfg: SwimConfig;
  /** Dead/left ids in the order they went, with when. */
  private readonly reapQueue = new Map<string, number>();

  constructor(self: string, config: SwimConfig, roster: Roster | undefined) {
    this.self = self;
    this.cfg = config;
    this.table = new MemberTable(roster, config.rings);
    this.tombstones = new Tombstones(config.maxTombstones);
    this.suspicions = Suspicions.of(config);
  }

  /** The earliest `at` or reap deadline. */
  reapWakeAt(at: number): number {
    for (const since of this.reapQueue.values()) return Math.min(at, since + this.cfg.reapAfter);
    return at;
  }

  /** Forgets the dead and left after reapAfter, keeping a tombstone of each. */
  reap(now: number): void {
    for (const [id, since] of this.reapQueue) {
      if (since + this.cfg.reapAfter > now) break;
      this.reapQueue.delete(id);
      this.tombstones.record(id, this.table.get(id)?.incarnation ?? 0);
      this.table.delete(id);
    }
  }

  /** Records a member's new state, with its event. */
  change(m: MemberLiveness, event: MemberEventType | undefined, out: Effect[]): void {
    const before = this.table.state(m.id);
    if (before === undefined || inRing(before) !== inRing(m.state)) this.ringDirty = true;
    this.table.set(m);
    if (m.state !== 'suspect') this.suspicions.clear(m.id);
    this.reapQueue.delete(m.id);
    if (!inRing(m.state)) this.reapQueue.set(m.id, m.since);
    if (event) out.push({ type: 'event', event, id: m.id, at: m.since });
  }

  /**
   * A suspicion we only heard of lapses after `suspicionMaxTimeout`: by then its accusers have
   * flooded the death, or the member refuted and its refutation (told to its observers as the
   * member sees them) missed us. A later death or suspicion still applies.
   */
  lapse(now: number, out: Effect[]): void {
    for (const id of [...this.suspicions.untimed()]) {
      const m = this.table.get(id);
      if (m?.state !== 'suspect') this.suspicions.clear(id);
      else if (now - m.since >= this.cfg.suspicionMaxTimeout)
        this.change({ ...m, state: 'alive', since: now }, 'member-recovered', out);
    }
  }

  /** Applies an update about another member (from gossip, a sync entry, or our own verdict) by precedence. */
  learn(u: Update, now: number, out: Effect[]): void {
    const cur = this.table.get(u.id);
    const tomb = this.tombstones.get(u.id);
    if (!validIncarnation(u.incarnation, cur?.incarnation ?? tomb ?? 0, this.cfg)) return;
    else if (cur) this.update(cur, u, now, out);
    else if (tomb !== undefined && u.incarnation <= tomb) return;
    else if (u.kind === 'dead' || u.kind === 'left') this.tombstones.record(u.id, u.incarnation);
    else if (u.kind === 'suspect') return;
    else if (this.table.size >= this.cfg.maxMembers) this.dropped++;
    else {
      this.tombstones.delete(u.id);
      this.change({ id: u.id, incarnation: u.incarnation, state: u.kind, since: now }, 'member-joined', out);
    }
  }

  /** Whether we hold `id` alive or suspect at `incarnation` or later. */
  holdsLive(id: string, incarnation: number): boolean {
    const m = this.table.get(id);
    return m !== undefined && (m.state === 'alive' || m.state === 'suspect') && m.incarnation >= incarnation;
  }

  /** An update about a member we hold. */
  private update(cur: MemberLiveness, u: Update, now: number, out: Effect[]): void {
    const next: MemberLiveness = { id: u.id, incarnation: u.incarnation, state: u.kind, since: now };
    const from = u.kind === 'suspect' || u.kind === 'dead' ? u.from || undefined : undefined;
    if (u.kind === 'suspect' && cur.state === 'suspect' && cur.incarnation === u.incarnation) {
      this.suspicions.of(u.id, u.incarnation).confirm(from);
    } else if (!supersedes(next, cur)) return;
    else if (u.kind === 'alive') this.change(next, cur.state === 'alive' ? undefined : 'member-recovered', out);
    else if (u.kind === 'suspect') {
      this.suspicions.of(u.id, u.incarnation).confirm(from);
      this.change(next, 'member-suspect', out);
    } else {
      if (from === this.self) out.push({ type: 'broadcast', update: u });
      this.change(next, u.kind === 'dead' ? 'member-dead' : 'member-left', out);
    }
  }
}
