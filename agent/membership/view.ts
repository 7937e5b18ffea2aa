import { type MemberEvent, type MemberState, type MemberView, memberBundleField } from '../../shared/wire/cluster.ts';
import type { Heartbeat, Leave } from '../../shared/wire/heartbeat.ts';

/**
 * The membership state machine: a pure core with no sockets and no timers. The agent feeds it
 * heartbeats, leaves and clock ticks (times are injected, in ms of a monotonic-enough clock) and
 * publishes the events it returns.
 *
 *   alive ──suspectAfter──▶ suspect ──deadAfter──▶ dead ──reapAfter──▶ (removed)
 *     ▲                        │                    │
 *     └──── heartbeat ─────────┴────────────────────┘        leave ──▶ left ──reapAfter──▶ (removed)
 *
 * Stall guard: if the gap between two ticks is far longer than the tick interval, this node's own
 * event loop was blocked; that time is not held against peers (their heartbeats are probably
 * queued in our socket buffers), so a slow node does not declare healthy peers dead.
 */

export interface MembershipOptions {
  suspectAfter: number;
  deadAfter: number;
  reapAfter: number;
  /** Expected interval between tick() calls (ms). */
  tickInterval: number;
  /** Tick gaps exceeding tickInterval by more than this (ms) are credited to every member. */
  stallThreshold: number;
  /** How many removed peers' last sequence numbers to remember, so replays cannot resurrect them. */
  tombstones?: number;
}

interface Member {
  hb: Heartbeat;
  state: MemberState;
  lastSeen: number;
  /** When the member entered its current state. */
  since: number;
  lastSeq: number;
}

export type SeqCheck = 'fresh' | 'stale';

export class MembershipView {
  readonly #opts: Required<MembershipOptions>;
  readonly #members = new Map<string, Member>();
  /** Last sequence numbers of removed members (insertion-ordered, bounded). */
  readonly #tombstones = new Map<string, number>();
  #lastTick: number | undefined;
  #stalledTotal = 0;
  /** Stall credits granted in the last minute: (time, ms). */
  readonly #credits: Array<[number, number]> = [];

  constructor(opts: MembershipOptions) {
    if (!(opts.suspectAfter < opts.deadAfter)) throw new RangeError('suspectAfter must be less than deadAfter');
    this.#opts = { tombstones: 4096, ...opts };
  }

  /** Whether a message with this sequence number from this peer would be new (replays are stale). */
  checkSeq(peerId: string, seq: number): SeqCheck {
    const last = this.#members.get(peerId)?.lastSeq ?? this.#tombstones.get(peerId);
    return last !== undefined && seq <= last ? 'stale' : 'fresh';
  }

  heartbeat(hb: Heartbeat, now: number): MemberEvent[] {
    if (this.checkSeq(hb.peerId, hb.seq) === 'stale') return [];
    const m = this.#members.get(hb.peerId);
    if (!m) {
      this.#tombstones.delete(hb.peerId);
      this.#members.set(hb.peerId, { hb, state: 'alive', lastSeen: now, since: now, lastSeq: hb.seq });
      return [event('member-joined', hb, now)];
    }
    const previous = m.state;
    m.hb = hb;
    m.lastSeen = now;
    m.lastSeq = hb.seq;
    if (previous === 'alive') return [];
    m.state = 'alive';
    m.since = now;
    // A member that left and comes back is a new incarnation: it joins; one we thought dead recovers.
    return [event(previous === 'left' ? 'member-joined' : 'member-recovered', hb, now)];
  }

  leave(msg: Leave, now: number): MemberEvent[] {
    const m = this.#members.get(msg.peerId);
    if (!m || msg.seq <= m.lastSeq) return [];
    m.lastSeq = msg.seq;
    if (m.state === 'left') return [];
    m.state = 'left';
    m.since = now;
    return [event('member-left', m.hb, now)];
  }

  tick(now: number): MemberEvent[] {
    const stalled = this.#stallSince(now);
    const events: MemberEvent[] = [];
    const { suspectAfter, deadAfter, reapAfter } = this.#opts;
    for (const [peerId, m] of this.#members) {
      if (stalled > 0) m.lastSeen = Math.min(now, m.lastSeen + stalled);
      const silent = now - m.lastSeen;
      if (m.state === 'alive' && silent >= suspectAfter) {
        m.state = 'suspect';
        m.since = now;
        events.push(event('member-suspect', m.hb, now));
      }
      if (m.state === 'suspect' && silent >= deadAfter) {
        m.state = 'dead';
        m.since = now;
        events.push(event('member-dead', m.hb, now));
      }
      if ((m.state === 'dead' || m.state === 'left') && now - m.since >= reapAfter) {
        this.#members.delete(peerId);
        this.#remember(peerId, m.lastSeq);
        events.push(event('member-removed', m.hb, now));
      }
    }
    return events;
  }

  /** Total stalled time credited so far (ms), for metrics and tests. */
  get stalledMs(): number {
    return this.#stalledTotal;
  }

  get size(): number {
    return this.#members.size;
  }

  get(peerId: string): { heartbeat: Heartbeat; state: MemberState; lastSeen: number } | undefined {
    const m = this.#members.get(peerId);
    return m && { heartbeat: m.hb, state: m.state, lastSeen: m.lastSeen };
  }

  /** Latest heartbeats of members currently alive. */
  aliveHeartbeats(): Heartbeat[] {
    const out: Heartbeat[] = [];
    for (const m of this.#members.values()) if (m.state === 'alive') out.push(m.hb);
    return out;
  }

  countByState(): Record<MemberState, number> {
    const counts: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
    for (const m of this.#members.values()) counts[m.state]++;
    return counts;
  }

  members(now: number): MemberView[] {
    const out: MemberView[] = [];
    for (const m of this.#members.values()) {
      out.push({
        peerId: m.hb.peerId,
        instanceId: m.hb.instanceId,
        cloud: m.hb.cloud,
        state: m.state,
        addrs: m.hb.addrs,
        monitor: m.hb.monitor,
        lastSeenMs: Math.max(0, now - m.lastSeen),
        startedAt: m.hb.startedAt,
        version: m.hb.version,
        metrics: m.hb.metrics,
        ...memberBundleField(m.hb),
      });
    }
    return out;
  }

  #stallSince(now: number): number {
    const last = this.#lastTick;
    this.#lastTick = now;
    if (last === undefined) return 0;
    const excess = now - last - this.#opts.tickInterval;
    if (excess <= this.#opts.stallThreshold) return 0;
    // A starved host stalls again and again: credit at most suspectAfter per minute, or failure
    // detection would stretch without bound (seen as 5 s → 13 s in benchmarks).
    while (this.#credits.length > 0 && now - (this.#credits[0]?.[0] ?? now) > 60_000) this.#credits.shift();
    const granted = this.#credits.reduce((sum, [, ms]) => sum + ms, 0);
    const credit = Math.min(excess, Math.max(0, this.#opts.suspectAfter - granted));
    if (credit <= 0) return 0;
    this.#credits.push([now, credit]);
    this.#stalledTotal += credit;
    return credit;
  }

  #remember(peerId: string, seq: number): void {
    this.#tombstones.set(peerId, seq);
    if (this.#tombstones.size > this.#opts.tombstones) {
      const oldest = this.#tombstones.keys().next().value;
      if (oldest !== undefined) this.#tombstones.delete(oldest);
    }
  }
}

function event(type: MemberEvent['type'], hb: Heartbeat, at: number): MemberEvent {
  return { type, peerId: hb.peerId, instanceId: hb.instanceId, at };
}
