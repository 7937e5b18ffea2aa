import type { Effect } from './types.ts';

/** What the prober needs from the core at each step. */
export interface ProbeContext {
  now: number;
  /** Members this node probes, in round-robin order. */
  subjects: readonly string[];
  /** Up to `count` neighbours other than `target` to ask for an indirect probe. */
  helpers(target: string, count: number): string[];
  /** A duration scaled by local health. */
  scale(ms: number): number;
  /** We may be the slow one: worse local health, so longer windows from now on (awareness.ts). */
  slower(): void;
}

export interface ProbeTimes {
  probeInterval: number;
  probeTimeout: number;
  indirectChecks: number;
  maxPending: number;
  /** How late (ms) our own timers may run before a probe they time is no evidence. */
  stallThreshold: number;
}

/**
 * Probes of one target in a row that may end as no evidence — because our own timers ran late, or
 * because no helper we asked answered at all (each such one widens our windows: awareness) — before
 * the next one fails as before. Each re-probe also accepts the acks of the earlier pings, so a live
 * member has all of them (several seconds) to answer, and a persistently late or starved node still
 * detects a silent death, a few periods later.
 */
export const LATE_RETRIES = 3;

/** A finished probe of ours. */
export type ProbeOutcome =
  | { ok: true; target: string }
  /** No ack by the end of the period; `nacks` helpers answered that they could not reach it either. */
  | { ok: false; target: string; nacks: number; helpers: number };

interface Probe {
  seq: number;
  target: string;
  timeoutAt: number;
  endAt: number;
  helpers: number;
  nacks: number;
  /** How late (ms) our tick observed this probe's timers so far. */
  late: number;
  /** Seqs of the earlier probes of this target that ended as no evidence: their acks count too. */
  earlier: number[];
}

/** A `ping-req` we serve: our `ping` to `target` answers `requester`'s probe `seq`. */
interface Relay {
  requester: string;
  seq: number;
  target: string;
  deadline: number;
}

/**
 * The probe cycle of one node: one probe per period, round-robin over its subjects; direct ping,
 * then ping-req through helpers after the probe timeout, then failure at the end of the period.
 * Also serves other nodes' ping-reqs. Pure: sends are pushed as effects.
 */
export class Prober {
  private seq = 0;
  private rr = 0;
  private nextAt: number;
  private current: Probe | undefined;
  private readonly relays = new Map<number, Relay>();
  /** Members to probe before the round-robin resumes (a view we must check, not believe). */
  private readonly extra: string[] = [];
  /** How our probes ended (counts.ts). */
  readonly counts = {
    probesFailed: 0,
    probesFailedNoNack: 0,
    probesLate: 0,
    probesLateCounted: 0,
    probesUnconfirmed: 0,
  };

  constructor(
    private readonly times: ProbeTimes,
    now: number,
    phase: number,
  ) {
    this.nextAt = now + Math.floor(phase * times.probeInterval);
  }

  /** The earliest time this prober wants a tick. */
  get wakeAt(): number {
    const c = this.current;
    // The next probe waits for the one in flight, whose end may have moved past `nextAt`.
    let at = c ? (c.timeoutAt > 0 ? c.timeoutAt : c.endAt) : this.nextAt;
    for (const r of this.relays.values()) at = Math.min(at, r.deadline);
    return at;
  }

  tick(ctx: ProbeContext, out: Effect[]): ProbeOutcome | undefined {
    const { now } = ctx;
    for (const [seq, r] of this.relays) {
      if (r.deadline > now) continue;
      this.relays.delete(seq);
      out.push({ type: 'send', to: r.requester, msg: { t: 'nack', seq: r.seq } });
    }
    let outcome: ProbeOutcome | undefined;
    const c = this.current;
    if (c && now >= c.timeoutAt && c.timeoutAt > 0) {
      // The helpers get their whole window from when we actually ask them.
      c.late += now - c.timeoutAt;
      c.endAt = Math.max(c.endAt, now + c.endAt - c.timeoutAt);
      c.timeoutAt = 0;
      const helpers = ctx.helpers(c.target, this.times.indirectChecks);
      c.helpers = helpers.length;
      for (const h of helpers) out.push({ type: 'send', to: h, msg: { t: 'ping-req', seq: c.seq, target: c.target } });
    }
    let again: string | undefined;
    let earlier: number[] = [];
    if (c && now >= c.endAt) {
      this.current = undefined;
      c.late += now - c.endAt;
      // Helpers asked and none answered, not even a nack: they, and so we, may be the slow ones
      // (a starved host's own probes of live members fail so, with no one else's word against them).
      const unconfirmed = c.helpers > 0 && c.nacks === 0;
      if ((c.late > this.times.stallThreshold || unconfirmed) && c.earlier.length < LATE_RETRIES) {
        // Our own lag, not the target's silence: ask it again, still listening for these pings.
        again = c.target;
        earlier = [...c.earlier, c.seq];
        this.nextAt = Math.min(this.nextAt, now);
        if (c.late > this.times.stallThreshold) this.counts.probesLate++;
        else {
          this.counts.probesUnconfirmed++;
          ctx.slower(); // the re-probe waits longer
        }
      } else outcome = this.failed(c);
    }
    if (now >= this.nextAt && !this.current) {
      this.nextAt = now + ctx.scale(this.times.probeInterval);
      const subjects = ctx.subjects;
      if (again !== undefined || subjects.length > 0 || this.extra.length > 0) {
        const target = again ?? this.extra.shift() ?? subjects[this.rr++ % subjects.length]!;
        this.start(target, earlier, ctx, out);
      }
    }
    return outcome;
  }

  private failed(c: Probe): ProbeOutcome {
    const n = this.counts;
    n.probesFailed++;
    if (c.nacks === 0) n.probesFailedNoNack++;
    if (c.late > this.times.stallThreshold) n.probesLateCounted++;
    return { ok: false, target: c.target, nacks: c.nacks, helpers: c.helpers };
  }

  private start(target: string, earlier: number[], ctx: ProbeContext, out: Effect[]): void {
    const { now } = ctx;
    const seq = ++this.seq;
    this.current = {
      seq,
      target,
      timeoutAt: now + ctx.scale(this.times.probeTimeout),
      endAt: now + ctx.scale(this.times.probeInterval) - 1,
      helpers: 0,
      nacks: 0,
      late: 0,
      earlier,
    };
    out.push({ type: 'send', to: target, msg: { t: 'ping', seq } });
  }

  /** Whether `seq` answers our probe in flight (its own ping or an earlier one of the same target). */
  private answers(seq: number): boolean {
    const c = this.current;
    return c !== undefined && (c.seq === seq || c.earlier.includes(seq));
  }

  /**
   * Probes `id` at the next tick if no probe of ours is in flight (else at the next turn), ahead
   * of the round-robin: another member says it is dead while we hold it alive. A failed probe
   * makes us suspect it ourselves; an ack keeps it.
   */
  verify(id: string, now: number): void {
    if (this.current?.target === id || this.extra.includes(id) || this.extra.length >= this.times.maxPending) return;
    this.extra.push(id);
    if (!this.current) this.nextAt = Math.min(this.nextAt, now);
  }

  /** An ack: ends our probe, or completes a relay. */
  ack(seq: number, out: Effect[]): ProbeOutcome | undefined {
    const c = this.current;
    if (c && this.answers(seq)) {
      this.current = undefined;
      return { ok: true, target: c.target };
    }
    const r = this.relays.get(seq);
    if (r) {
      this.relays.delete(seq);
      out.push({ type: 'send', to: r.requester, msg: { t: 'ack', seq: r.seq } });
    }
    return undefined;
  }

  nack(seq: number): void {
    if (this.current && this.answers(seq)) this.current.nacks++;
  }

  /** Serves a ping-req: probes `target` for `requester`. */
  pingReq(requester: string, seq: number, target: string, ctx: ProbeContext, out: Effect[]): void {
    if (this.relays.size >= this.times.maxPending) {
      out.push({ type: 'send', to: requester, msg: { t: 'nack', seq } });
      return;
    }
    const mine = ++this.seq;
    this.relays.set(mine, { requester, seq, target, deadline: ctx.now + ctx.scale(this.times.probeTimeout) });
    out.push({ type: 'send', to: target, msg: { t: 'ping', seq: mine } });
  }

  /**
   * `id` cannot be reached: nack the relays probing it; true if it is the target of our own probe
   * (which is then over: the caller suspects it).
   */
  unreachable(id: string, out: Effect[]): boolean {
    for (const [seq, r] of this.relays) {
      if (r.target !== id) continue;
      this.relays.delete(seq);
      out.push({ type: 'send', to: r.requester, msg: { t: 'nack', seq: r.seq } });
    }
    if (this.current?.target !== id) return false;
    this.current = undefined;
    return true;
  }

  /** Our own loop stalled: nothing in flight is evidence any more. */
  cancel(now: number): void {
    this.current = undefined;
    this.relays.clear();
    this.nextAt = Math.min(this.nextAt, now);
  }

  /** Stops probing (after leaving). */
  stop(): void {
    this.cancel(0);
    this.nextAt = Number.POSITIVE_INFINITY;
  }
}
