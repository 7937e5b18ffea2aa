import { Awareness } from './awareness.ts';
import { type SwimConfig, syncIntervalFor } from './config.ts';
import { digestOf, entryUpdate, validId, validIncarnation, wellFormed } from './digest.ts';
import { neighbourhood, type Roster } from './overlay.ts';
import { inRing, supersedes } from './precedence.ts';
import { type ProbeContext, type ProbeOutcome, Prober, sample } from './probe.ts';
import { Suspicions } from './suspicion.ts';
import { MemberTable, Tombstones } from './table.ts';
import type {
  CoreInput,
  DigestEntry,
  Effect,
  Evidence,
  MemberEventType,
  MemberLiveness,
  ProbeMessage,
  Update,
} from './types.ts';

export interface SwimCoreOptions {
  self: string;
  config: SwimConfig;
  /** Uniform in [0, 1); the only source of randomness. */
  rand: () => number;
  now: number;
  /** Our incarnation at start (a restarted agent may pass its last one). Default 0. */
  incarnation?: number;
  /** A shared initial table (copy-on-write); a roster listing us alive at our incarnation means we need no announcement. */
  roster?: Roster;
}

/**
 * SWIM + Lifeguard membership over a ring overlay, as a pure state machine: the shell feeds
 * `step` inputs carrying the time and carries out the effects. It must tick at least every
 * `probeInterval` (or exactly at `wakeAt`).
 */
export class SwimCore {
  readonly self: string;
  private readonly cfg: SwimConfig;
  private readonly rand: () => number;
  private readonly table: MemberTable;
  private readonly tombstones: Tombstones;
  private readonly suspicions: Suspicions;
  /** Dead/left ids in the order they went, with when. */
  private readonly reapQueue = new Map<string, number>();
  private readonly prober: Prober;
  private readonly health: Awareness;
  private inc: number;
  private lastTick: number;
  private nextSyncAt: number;
  private announced: boolean;
  private gone = false;
  private ringDirty = true;
  private neighbourKey = '';
  private subjects: string[] = [];
  private near: string[] = [];
  /** Unknown members refused because the table was full. */
  dropped = 0;

  constructor(opts: SwimCoreOptions) {
    const { self, config, now } = opts;
    this.self = self;
    this.cfg = config;
    this.rand = opts.rand;
    this.table = new MemberTable(opts.roster, config.rings);
    this.tombstones = new Tombstones(config.maxTombstones);
    this.suspicions = Suspicions.of(config);
    this.health = new Awareness(config.awarenessMax);
    this.inc = opts.incarnation ?? 0;
    const listed = this.table.get(self);
    this.announced = listed?.state === 'alive' && listed.incarnation === this.inc;
    if (listed && !this.announced && listed.incarnation >= this.inc) this.inc = listed.incarnation + 1;
    if (!this.announced) this.table.set({ id: self, incarnation: this.inc, state: 'alive', since: now });
    this.lastTick = now;
    this.prober = new Prober(config, now, this.rand());
    this.nextSyncAt = now + Math.floor(this.rand() * syncIntervalFor(config, this.table.size));
  }

  get incarnation(): number {
    return this.inc;
  }

  get awareness(): number {
    return this.health.score;
  }

  /** The earliest time this core wants a tick (the shell may tick more often). */
  get wakeAt(): number {
    const at = Math.min(this.prober.wakeAt, this.nextSyncAt, this.suspicions.wakeAt);
    for (const since of this.reapQueue.values()) return Math.min(at, since + this.cfg.reapAfter);
    return at;
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
        out.push({ type: 'broadcast', update: { kind: 'alive', id: this.self, incarnation: this.inc } });
      }
      this.dispatch(input, out);
    }
    if (this.ringDirty) this.reshape(out);
    return out;
  }

  private dispatch(input: CoreInput, out: Effect[]): void {
    const t = input.type;
    if (t === 'tick') this.tick(input.now, out);
    else if (t === 'probe') this.probe(input.from, input.msg, input.now, out);
    else if (t === 'update' && wellFormed(input.update, this.cfg)) this.apply(input.update, input.now, out, false);
    else if (t === 'unreachable' && (this.prober.unreachable(input.id, out) || this.subjects.includes(input.id))) {
      this.suspect(input.id, input.evidence, input.now, out);
    } else if (t === 'sync') this.sync(input.entries, input.now, out);
    else if (t === 'leave') this.leave(input.now, out);
  }

  private context(now: number): ProbeContext {
    return {
      now,
      subjects: this.subjects,
      scale: (ms) => this.health.scale(ms),
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
      this.apply({ kind: 'dead', id, incarnation, from: this.self }, now, out, true);
    }
    if (now >= this.nextSyncAt) {
      this.nextSyncAt = now + syncIntervalFor(this.cfg, this.table.size);
      const peer = this.near[Math.floor(this.rand() * this.near.length)];
      if (peer !== undefined) out.push({ type: 'sync', with: peer });
    }
    for (const [id, since] of this.reapQueue) {
      if (since + this.cfg.reapAfter > now) break;
      this.reapQueue.delete(id);
      this.tombstones.record(id, this.table.get(id)?.incarnation ?? 0);
      this.table.delete(id);
    }
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
    if (msg.t === 'ping') out.push({ type: 'send', to: from, msg: { t: 'ack', seq: msg.seq } });
    else if (msg.t === 'ack') this.outcome(this.prober.ack(msg.seq, out), now, out);
    else if (msg.t === 'nack') this.prober.nack(msg.seq);
    else if (msg.t === 'ping-req' && validId(msg.target, this.cfg)) {
      if (msg.target === this.self) out.push({ type: 'send', to: from, msg: { t: 'ack', seq: msg.seq } });
      else this.prober.pingReq(from, msg.seq, msg.target, this.context(now), out);
    }
  }

  /** This node itself suspects `id`: it runs the timer and tells the pool. */
  private suspect(id: string, evidence: Evidence, now: number, out: Effect[]): void {
    const m = this.table.get(id);
    if (!m || !inRing(m.state) || id === this.self) return;
    const news = this.suspicions.start(id, m.incarnation, this.self, now, evidence);
    if (m.state === 'alive') this.change({ ...m, state: 'suspect', since: now }, 'member-suspect', out);
    if (news) {
      out.push({
        type: 'broadcast',
        update: { kind: 'suspect', id, incarnation: m.incarnation, from: this.self, evidence },
      });
    }
  }

  /** Records a member's new state, with its event. */
  private change(m: MemberLiveness, event: MemberEventType | undefined, out: Effect[]): void {
    const before = this.table.state(m.id);
    if (before === undefined || inRing(before) !== inRing(m.state)) this.ringDirty = true;
    this.table.set(m);
    if (m.state !== 'suspect') this.suspicions.clear(m.id);
    this.reapQueue.delete(m.id);
    if (!inRing(m.state)) this.reapQueue.set(m.id, m.since);
    if (event) out.push({ type: 'event', event, id: m.id, at: m.since });
  }

  /** Applies an update (from gossip, a sync entry, or our own verdict) by precedence. */
  private apply(u: Update, now: number, out: Effect[], fromSync: boolean): void {
    const cur = this.table.get(u.id);
    const tomb = this.tombstones.get(u.id);
    if (u.id === this.self) this.aboutSelf(u, out);
    else if (!validIncarnation(u.incarnation, cur?.incarnation ?? tomb ?? 0, this.cfg)) return;
    else if (cur) this.update(cur, u, now, out);
    else if (tomb !== undefined && u.incarnation <= tomb) return;
    else if (u.kind === 'dead' || u.kind === 'left') this.tombstones.record(u.id, u.incarnation);
    else if (u.kind === 'suspect' && !fromSync) return;
    else if (this.table.size >= this.cfg.maxMembers) this.dropped++;
    else {
      this.tombstones.delete(u.id);
      this.change({ id: u.id, incarnation: u.incarnation, state: u.kind, since: now }, 'member-joined', out);
      if (u.kind === 'suspect') out.push({ type: 'event', event: 'member-suspect', id: u.id, at: now });
    }
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

  /** An update about us: refute any suspicion, death or newer life we do not know of. */
  private aboutSelf(u: Update, out: Effect[]): void {
    if (!validIncarnation(u.incarnation, this.inc, this.cfg)) return;
    const refute = u.kind === 'alive' ? u.incarnation > this.inc : u.incarnation >= this.inc;
    if (!refute) return;
    this.inc = u.incarnation + 1;
    if (u.kind !== 'alive') this.health.apply(1);
    this.table.set({ id: this.self, incarnation: this.inc, state: 'alive', since: this.lastTick });
    out.push({ type: 'broadcast', update: { kind: 'alive', id: this.self, incarnation: this.inc } });
  }

  private sync(entries: readonly DigestEntry[], now: number, out: Effect[]): void {
    if (!Array.isArray(entries)) return;
    const limit = Math.min(entries.length, this.cfg.maxMembers + this.cfg.maxTombstones);
    for (let i = 0; i < limit; i++) {
      const u = entryUpdate(entries[i]!, this.cfg);
      if (u) this.apply(u, now, out, true);
    }
  }

  private leave(now: number, out: Effect[]): void {
    this.inc++;
    this.gone = true;
    this.prober.stop();
    this.table.set({ id: this.self, incarnation: this.inc, state: 'left', since: now });
    this.ringDirty = true;
    out.push({ type: 'broadcast', update: { kind: 'left', id: this.self, incarnation: this.inc } });
  }

  /** Recomputes subjects and observers; tells the shell when the neighbour set changed. */
  private reshape(out: Effect[]): void {
    this.ringDirty = false;
    const none = { subjects: [], observers: [] };
    const { subjects, observers } = this.gone ? none : neighbourhood(this.self, this.cfg.rings, this.table);
    this.subjects = subjects;
    this.near = [...new Set([...subjects, ...observers])].sort();
    const key = this.near.join('\n');
    if (key === this.neighbourKey) return;
    this.neighbourKey = key;
    out.push({ type: 'neighbours', ids: [...this.near] });
  }
}
