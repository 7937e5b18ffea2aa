import type { SwimConfig } from './config.ts';
import { validIncarnation } from './digest.ts';
import type { Roster } from './overlay.ts';
import { inRing, supersedes } from './precedence.ts';
import { Suspicions } from './suspicion.ts';
import { MemberTable, Tombstones } from './table.ts';
import type { Effect, MemberEventType, MemberLiveness, Update } from './types.ts';

/** A second-hand death we hold back: the accuser and the incarnation it names. */
interface HeldClaim {
  incarnation: number;
  from: string;
  /**
   * Set when it is held because its accuser is on the other side of a heal (`departed`): the member
   * speaking to us drops it, and failing our own check it is applied from this time on.
   */
  until?: number;
}

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
  /** When each live member last sent us a frame itself (direct evidence that it is alive). */
  private readonly heardAt = new Map<string, number>();
  /** Second-hand deaths of members we hold alive on fresh direct evidence (at most maxPending). */
  private readonly held = new Map<string, HeldClaim>();
  /** Members back from dead or left (or from a tombstone), with when: still the other side for a while. */
  private readonly returned = new Map<string, number>();

  constructor(self: string, config: SwimConfig, roster: Roster | undefined) {
    this.self = self;
    this.cfg = config;
    this.table = new MemberTable(roster, config.rings);
    this.tombstones = new Tombstones(config.maxTombstones);
    this.suspicions = Suspicions.of(config);
  }

  /** The earliest of `at`, the next reap and the moment a held-back death's evidence goes stale. */
  reapWakeAt(at: number): number {
    for (const [id, c] of this.held)
      at = Math.min(at, Math.max((this.heardAt.get(id) ?? 0) + this.cfg.suspicionMinTimeout, c.until ?? 0));
    for (const since of this.reapQueue.values()) return Math.min(at, since + this.cfg.reapAfter);
    return at;
  }

  /** A frame from `id` itself, on its own authenticated connection: direct evidence it is alive now. */
  heard(id: string, now: number): void {
    if (id === this.self || !this.table.isLive(id)) return;
    this.heardAt.set(id, now);
    if (this.held.get(id)?.until !== undefined) this.held.delete(id); // the other side's view, refuted by the member itself
  }

  /**
   * Whether we hold `id` dead or left, or reaped it, or it came back from that within
   * `suspicionMinTimeout` (its deaths made during the cut may arrive after its own refutation):
   * after a heal, a member of the other side.
   */
  departed(id: string, now: number): boolean {
    const s = this.table.state(id);
    if (s === 'dead' || s === 'left' || (s === undefined && this.tombstones.get(id) !== undefined)) return true;
    return now - (this.returned.get(id) ?? Number.NEGATIVE_INFINITY) < this.cfg.suspicionMinTimeout;
  }

  /** Whether `id` sent us a frame itself within `suspicionMinTimeout`. */
  private fresh(id: string, now: number): boolean {
    const at = this.heardAt.get(id);
    return at !== undefined && now - at < this.cfg.suspicionMinTimeout;
  }

  /**
   * Whether to hold back a second-hand accusation (gossip, a told suspicion, a sync entry: not our
   * own verdict) against a member we hold alive and heard from directly within
   * `suspicionMinTimeout`: after a healed partition the other side's deaths name the incarnation it
   * last knew, which would beat our `alive` at the same one. We tell the member (it refutes with a
   * newer incarnation); a death is held, and applied if our own probe fails or our evidence goes
   * stale first (`corroborated`, `lapse`). Nobody can be kept alive by it longer than that: only
   * the member's own frames are evidence, and a dead member sends none.
   *
   * The accuser rule: an accusation by a member we hold dead or left, or that came back from it
   * within `suspicionMinTimeout` (`departed`: the other side of a healed partition, whose deaths
   * were made during the cut) is that side's view, whatever our
   * evidence of the member: held the same way, dropped as soon as the member speaks to us (the
   * caller probes it at once), applied if that probe fails, or `suspicionMinTimeout` after it
   * arrived if the member stays silent to us. A merely suspect accuser is on our side: its word
   * counts as before. A really dead member is declared first-hand by its observers on our side.
   */
  withholds(u: Update, now: number, out: Effect[]): boolean {
    if ((u.kind !== 'dead' && u.kind !== 'suspect') || u.from === this.self) return false;
    const cur = this.table.get(u.id);
    const theirs = this.departed(u.from, now);
    if (!cur || (theirs ? !inRing(cur.state) : cur.state !== 'alive' || !this.fresh(u.id, now))) return false;
    if (!validIncarnation(u.incarnation, cur.incarnation, this.cfg)) return false;
    if (theirs && u.kind === 'suspect') return true; // not even a confirmation of a suspicion of ours
    if (!supersedes({ incarnation: u.incarnation, state: u.kind }, cur)) return false;
    if (u.kind === 'suspect') return true; // its accuser tells the member itself
    const held = this.held.get(u.id);
    if (held && held.incarnation >= u.incarnation) return true;
    if (!held && this.held.size >= this.cfg.maxPending) return false;
    const until = theirs ? { until: now + this.cfg.suspicionMinTimeout } : {};
    this.held.set(u.id, { incarnation: u.incarnation, from: u.from, ...until });
    this.warn(u.id, u.incarnation, out);
    out.push({ type: 'send', to: u.id, msg: { t: 'ping', seq: 0 } }); // a refused dial confirms at once
    return true;
  }

  /**
   * A dial of `id` was refused after its last frame to us (its host says nothing listens: the
   * neighbour whose connection just closed was killed). Those frames no longer vouch for it, so a
   * death of it that others tell us is applied, not held back for a check that has already failed:
   * the victim's other neighbours took one more refused dial after the gossip (kill -9, N=50).
   */
  refused(id: string): void {
    this.heardAt.delete(id);
  }

  /** Whether we hold back a death of `id`. */
  holding(id: string): boolean {
    return this.held.has(id);
  }

  /** Tells `id` it is accused at `incarnation`, as its own accuser would: it refutes with a newer one. */
  warn(id: string, incarnation: number, out: Effect[]): void {
    const update = { kind: 'suspect', id, incarnation, from: this.self, evidence: 'timeout' } as const;
    out.push({ type: 'tell', to: [id], update });
  }

  /** Our own probe of `id` failed: a death we held back is confirmed, apply it. True if there was one. */
  corroborated(id: string, now: number, out: Effect[]): boolean {
    const claim = this.held.get(id);
    if (!claim) return false;
    this.held.delete(id);
    const cur = this.table.get(id);
    if (!cur || !supersedes({ incarnation: claim.incarnation, state: 'dead' }, cur)) return false;
    this.learn({ kind: 'dead', id, incarnation: claim.incarnation, from: claim.from }, now, out);
    return true;
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
    if (before !== undefined && !inRing(before) && inRing(m.state)) this.returned.set(m.id, m.since);
    this.table.set(m);
    if (m.state !== 'suspect') this.suspicions.clear(m.id);
    this.reapQueue.delete(m.id);
    if (!inRing(m.state)) {
      this.reapQueue.set(m.id, m.since);
      this.heardAt.delete(m.id);
    }
    if (event) out.push({ type: 'event', event, id: m.id, at: m.since });
  }

  /**
   * A suspicion we only heard of lapses after `suspicionMaxTimeout`: by then its accusers have
   * flooded the death, or the member refuted and its refutation (told to its observers as the
   * member sees them) missed us. A later death or suspicion still applies.
   */
  lapse(now: number, out: Effect[]): void {
    for (const [id, at] of this.returned) if (now - at >= this.cfg.suspicionMinTimeout) this.returned.delete(id);
    for (const [id, claim] of [...this.held]) {
      const cur = this.table.get(id);
      if (!cur || !supersedes({ incarnation: claim.incarnation, state: 'dead' }, cur)) this.held.delete(id);
      else if (!this.fresh(id, now) && now >= (claim.until ?? 0)) this.corroborated(id, now, out);
    }
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
      if (tomb !== undefined) this.returned.set(u.id, now);
      this.tombstones.delete(u.id);
      this.change({ id: u.id, incarnation: u.incarnation, state: u.kind, since: now }, 'member-joined', out);
    }
  }

  /**
   * A synced table's death of a member we hold alive or suspect at that incarnation or later: their
   * view, not evidence (after a healed partition each side holds the other dead at the same
   * incarnation). True: the caller probes it itself, and only its own failed probe makes it
   * suspect the member. At the incarnation the member is told, so it refutes with a newer one
   * that the other side will take. `theirs`: the table comes from a member we hold dead or left
   * (the other side of a heal), so its deaths at a newer incarnation are doubted too.
   */
  doubts(u: Update, out: Effect[], theirs = false): boolean {
    const m = u.id === this.self ? undefined : this.table.get(u.id);
    if (!m || !inRing(m.state) || !validIncarnation(u.incarnation, m.incarnation, this.cfg)) return false;
    if (m.incarnation < u.incarnation && !theirs) return false;
    if (u.incarnation >= m.incarnation) this.warn(u.id, u.incarnation, out);
    return true;
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
