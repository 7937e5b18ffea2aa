import { sample } from '../../../shared/seeded-random.ts';
import { Awareness } from './awareness.ts';
import type { SwimConfig } from './config.ts';
import type { SwimCoreOptions } from './core-options.ts';
import { countsOf, type SwimCounts } from './counts.ts';
import { Detours } from './detours.ts';
import { digestOf, entryUpdate, validId, validIncarnation, wellFormed } from './digest.ts';
import { neighbourhood } from './overlay.ts';
import { PeerView } from './peer-view.ts';
import { inRing } from './precedence.ts';
import { type ProbeContext, type ProbeOutcome, Prober } from './probe.ts';
import type { Suspicions } from './suspicion.ts';
import { joinedSince, SyncSchedule } from './sync-schedule.ts';
import type { MemberTable, Tombstones } from './table.ts';
import { Tells } from './tells.ts';
import type {
  CoreInput,
  DigestEntry,
  Effect,
  Evidence,
  MemberLiveness,
  ProbeMessage,
  ToldUpdate,
  Update,
} from './types.ts';

export type { SwimCoreOptions } from './core-options.ts';

/**
 * SWIM + Lifeguard membership over a ring overlay, as a pure state machine: the shell feeds
 * `step` inputs carrying the time and carries out the effects. It must tick at least every
 * `probeInterval` (or exactly at `wakeAt`).
 */
export class SwimCore {
  readonly self: string;
  private readonly cfg: SwimConfig;
  private readonly rand: () => number;
  /** What this node believes of the other members (applied by precedence in peer-view.ts). */
  private readonly view: PeerView;
  private readonly table: MemberTable;
  private readonly tombstones: Tombstones;
  private readonly suspicions: Suspicions;
  private readonly tells: Tells;
  private readonly prober: Prober;
  private readonly health: Awareness;
  private readonly detours: Detours;
  private inc: number;
  private lastTick: number;
  private readonly syncs: SyncSchedule;
  private announced: boolean;
  private gone = false;
  private neighbourKey = '';
  private subjects: string[] = [];
  private near: string[] = [];
  /** Our predecessors: the members that probe us, and so hold any suspicion of us. */
  private observers: string[] = [];

  constructor(opts: SwimCoreOptions) {
    const { self, config, now } = opts;
    this.self = self;
    this.cfg = config;
    this.rand = opts.rand;
    this.view = new PeerView(self, config, opts.roster);
    this.table = this.view.table;
    this.tombstones = this.view.tombstones;
    this.suspicions = this.view.suspicions;
    this.tells = new Tells(config.tellRetransmits, config.maxPending);
    this.health = new Awareness(config.awarenessMax);
    this.detours = new Detours(self, config.maxMembers);
    this.inc = opts.incarnation ?? 0;
    const listed = this.table.get(self);
    this.announced = listed?.state === 'alive' && listed.incarnation === this.inc;
    if (listed && !this.announced && listed.incarnation >= this.inc) this.inc = listed.incarnation + 1;
    if (!this.announced) this.table.set({ id: self, incarnation: this.inc, state: 'alive', since: now });
    this.lastTick = now;
    this.prober = new Prober(config, now, this.rand());
    this.syncs = new SyncSchedule(config, self, opts, this.rand, now, this.table.size);
  }

  get incarnation(): number {
    return this.inc;
  }

  get awareness(): number {
    return this.health.score;
  }

  /** What this core did so far, for benchmarks (counts.ts). */
  get counts(): SwimCounts {
    return countsOf(this.prober, this.suspicions, this.detours, this.health, this.view, this.inc);
  }

  /** The earliest time this core wants a tick (the shell may tick more often). */
  get wakeAt(): number {
    return this.view.reapWakeAt(
      Math.min(this.prober.wakeAt, this.syncs.wakeAt, this.suspicions.wakeAt, this.tells.wakeAt),
    );
  }

  members(): MemberLiveness[] {
    return [...this.table.all()];
  }

  get(id: string): MemberLiveness | undefined {
    return this.table.get(id);
  }

  /** Our table for anti-entropy; only the ids in `buckets` if given (summaries: digest.ts). */
  digest(buckets?: readonly number[]): DigestEntry[] {
    return digestOf(this.table, this.tombstones, buckets);
  }

  /** Current neighbours (subjects ∪ observers), sorted. */
  neighbours(): string[] {
    return [...this.near];
  }

  /** Members this node probes (its successor on each ring). */
  probed(): string[] {
    return [...this.subjects];
  }

  step(input: CoreInput): Effect[] {
    const out: Effect[] = [];
    if (!this.gone) {
      if (!this.announced) {
        this.announced = true;
        this.detours.announce({ kind: 'alive', id: this.self, incarnation: this.inc }, out);
      }
      const before = out.length;
      this.dispatch(input, out);
      if (joinedSince(out, before)) this.syncs.news(input.now, this.table.size); // however it came
    }
    if (this.view.ringDirty) this.reshape(out);
    return out;
  }

  private dispatch(input: CoreInput, out: Effect[]): void {
    const t = input.type;
    if (t === 'tick') this.tick(input.now, out);
    else if (t === 'probe') this.probe(input.from, input.msg, input.now, out);
    else if (t === 'update' && wellFormed(input.update, this.cfg))
      this.apply(input.update, input.now, out, input.rerouted === true);
    else if (t === 'undelivered') this.detours.undelivered(input.to, input.update, (u) => this.holds(u), out);
    else if (t === 'unreachable') {
      const ours = this.prober.unreachable(input.id, out) || this.subjects.includes(input.id);
      if (ours || this.view.holding(input.id)) this.suspect(input.id, input.evidence, input.now, out);
      else this.view.refused(input.id); // nothing listens there: its last frames no longer vouch for it
    } else if (t === 'sync') this.sync(input.entries, input.now, out, input.from);
    else if (t === 'leave') this.leave(input.now, out);
  }

  private context(now: number): ProbeContext {
    return {
      now,
      subjects: this.subjects,
      scale: (ms) => this.health.scale(ms),
      slower: () => this.health.apply(1),
      helpers: (target, count) =>
        sample(
          this.near.filter((id) => id !== target),
          count,
          this.rand,
        ),
    };
  }

  private tick(now: number, out: Effect[]): void {
    if (now - this.lastTick > this.cfg.probeInterval + this.cfg.stallThreshold) {
      // Our own loop was blocked: missing acks are our fault, and refutations may be queued behind it.
      this.prober.cancel(now);
      this.suspicions.defer(now + this.cfg.stallThreshold);
    }
    this.lastTick = now;
    this.outcome(this.prober.tick(this.context(now), out), now, out);
    for (const [id, incarnation] of this.suspicions.expired(now)) {
      this.apply({ kind: 'dead', id, incarnation, from: this.self }, now, out);
    }
    this.tells.due(now, this.cfg.probeInterval, (u) => this.holds(u), out);
    this.view.lapse(now, out);
    const peer = this.syncs.due(now, this.near, this.table);
    if (peer !== undefined) out.push({ type: 'sync', with: peer, news: this.syncs.followUp });
    this.view.reap(now);
  }

  private outcome(o: ProbeOutcome | undefined, now: number, out: Effect[]): void {
    if (o?.ok) this.health.apply(-1);
    if (!o || o.ok) return;
    // No helper could say it was unreachable for them too: we may be the slow one.
    if (o.nacks === 0) this.health.apply(1);
    this.suspect(o.target, 'timeout', now, out);
  }

  private probe(from: string, msg: ProbeMessage, now: number, out: Effect[]): void {
    if (!validId(from, this.cfg) || msg === null || typeof msg !== 'object' || !Number.isSafeInteger(msg.seq)) return;
    this.view.heard(from, now);
    if (msg.t === 'ping') out.push({ type: 'send', to: from, msg: { t: 'ack', seq: msg.seq } });
    else if (msg.t === 'ack') this.outcome(this.prober.ack(msg.seq, out), now, out);
    else if (msg.t === 'nack') this.prober.nack(msg.seq);
    else if (msg.t === 'ping-req' && validId(msg.target, this.cfg)) {
      if (msg.target === this.self) out.push({ type: 'send', to: from, msg: { t: 'ack', seq: msg.seq } });
      else this.prober.pingReq(from, msg.seq, msg.target, this.context(now), out);
    }
  }

  /**
   * This node itself suspects `id`: it runs the timer and tells the suspect (so it can refute) and
   * its observers (the only members that can confirm), not the pool: only `dead` is flooded.
   */
  private suspect(id: string, evidence: Evidence, now: number, out: Effect[]): void {
    const m = this.table.get(id);
    if (!m || !inRing(m.state) || id === this.self || this.view.corroborated(id, now, out)) return;
    const news = this.suspicions.start(id, m.incarnation, this.self, now, evidence);
    if (m.state === 'alive') this.view.change({ ...m, state: 'suspect', since: now }, 'member-suspect', out);
    if (!news) return;
    const update: ToldUpdate = { kind: 'suspect', id, incarnation: m.incarnation, from: this.self, evidence };
    const { observers } = neighbourhood(id, this.cfg.rings, this.table);
    const to = [id, ...observers.filter((o) => o !== this.self)];
    this.tells.tell(update, to, now, this.cfg.probeInterval, out);
  }

  /** Whether a queued tell still says what we hold: our suspicion still stands, our refutation is our latest. */
  private holds(u: ToldUpdate): boolean {
    if (u.id === this.self) return !this.gone && u.kind === 'alive' && u.incarnation === this.inc;
    const m = this.table.get(u.id);
    return u.kind === 'suspect' && m?.state === 'suspect' && m.incarnation === u.incarnation;
  }

  /** Applies an update (from gossip, a sync entry, or our own verdict) by precedence. */
  private apply(u: Update, now: number, out: Effect[], rerouted = false): void {
    if (u.id === this.self) this.aboutSelf(u, now, out, rerouted);
    else if (this.view.withholds(u, now, out)) this.prober.verify(u.id, now);
    else this.view.learn(u, now, out);
  }

  /**
   * An update about us: refute any suspicion, death or newer life we do not know of. A suspicion is
   * refuted to those who hold it (our observers and the accuser); a death or a newer life to the
   * pool. An older suspicion is answered to its accuser alone (it missed our refutation), an older
   * death to the pool (those who took it never heard our newer incarnation). A suspicion that came
   * on the topic (`rerouted`: its accuser cannot dial us) is refuted to the pool, once per incarnation.
   */
  private aboutSelf(u: Update, now: number, out: Effect[], rerouted: boolean): void {
    if (!validIncarnation(u.incarnation, this.inc, this.cfg)) return;
    const current = u.kind === 'alive' ? u.incarnation > this.inc : u.incarnation >= this.inc;
    if (current) {
      this.inc = u.incarnation + 1;
      if (u.kind !== 'alive') this.health.apply(1);
      this.table.set({ id: this.self, incarnation: this.inc, state: 'alive', since: now });
    } else if (u.kind === 'alive') return;
    const alive: ToldUpdate = { kind: 'alive', id: this.self, incarnation: this.inc };
    const accuser = u.kind === 'suspect' && u.from !== '' ? [u.from] : [];
    if (u.kind !== 'suspect') this.detours.announce(alive, out);
    else if (rerouted && this.detours.refuteOnce(alive, out))
      return; // else tell the late accuser itself
    else if (current) this.tells.tell(alive, [...this.observers, ...accuser], now, this.cfg.probeInterval, out);
    else if (accuser.length > 0) {
      this.tells.also(this.self, accuser[0]!);
      out.push({ type: 'tell', to: accuser, update: alive });
    }
  }

  private sync(entries: readonly DigestEntry[], now: number, out: Effect[], from?: string): void {
    if (!Array.isArray(entries)) return;
    const limit = Math.min(entries.length, this.cfg.maxMembers + this.cfg.maxTombstones);
    const theirs = from !== undefined && this.view.departed(from, now); // the other side of a heal
    for (let i = 0; i < limit; i++) {
      const u = entryUpdate(entries[i]!, this.cfg);
      // A table carries views, not accusations: a suspect entry counts as alive (its observers hold it).
      if (u?.kind === 'suspect' && u.id !== this.self)
        this.apply({ kind: 'alive', id: u.id, incarnation: u.incarnation }, now, out);
      else if (u?.kind === 'dead' && this.view.doubts(u, out, theirs)) this.prober.verify(u.id, now);
      else if (u) this.apply(u, now, out);
    }
  }

  private leave(now: number, out: Effect[]): void {
    this.inc++;
    this.gone = true;
    this.prober.stop();
    this.table.set({ id: this.self, incarnation: this.inc, state: 'left', since: now });
    this.view.ringDirty = true;
    out.push({ type: 'broadcast', update: { kind: 'left', id: this.self, incarnation: this.inc } });
  }

  /** Recomputes subjects and observers; tells the shell when the neighbour set changed. */
  private reshape(out: Effect[]): void {
    this.view.ringDirty = false;
    const none = { subjects: [], observers: [] };
    const { subjects, observers } = this.gone ? none : neighbourhood(this.self, this.cfg.rings, this.table);
    this.subjects = subjects;
    this.observers = observers;
    this.near = [...new Set([...subjects, ...observers])].sort();
    const key = this.near.join('\n');
    if (key === this.neighbourKey) return;
    this.neighbourKey = key;
    out.push({ type: 'neighbours', ids: [...this.near] });
  }
}
