import { SUMMARY_BUCKETS } from '../../agent/membership/swim/digest.ts';

/**
 * Byte accounting of the simulation, from estimates (no real codec): ping/ack/nack 24 B payload +
 * 60 B framing; ping-req 64 B + 60 B (it carries the target id); an update 80 B + 60 B per hop or
 * per recipient; a sync 60 B per table entry + 60 B, and 4 B per summary bucket. Bytes are counted
 * per node in four windows: 0 warm-up, 1 idle (before any fault), 2 churn (faults and the 10 s
 * after them), 3 after.
 */

export const FRAME = 60;
export const SIZE = {
  probe: 24 + FRAME,
  pingReq: 64 + FRAME,
  update: 80 + FRAME,
  entry: 60,
  summary: 4 * SUMMARY_BUCKETS,
};

export class Traffic {
  /** Where each window ends (ms of simulated time). */
  readonly windows: number[];
  private readonly bytes: { sent: Float64Array; recv: Float64Array }[];
  private syncBytes = 0;

  constructor(T: number, faultFrom: number, faultTo: number, total: number) {
    this.windows = [T / 12, faultFrom, Math.min(T, faultTo + 10000), T];
    this.bytes = [0, 1, 2, 3].map(() => ({ sent: new Float64Array(total), recv: new Float64Array(total) }));
  }

  count(node: number, n: number, dir: 'sent' | 'recv', now: number): void {
    this.bytes[this.win(now)]![dir][node]! += n;
  }

  /** Bytes of anti-entropy sent: counted as sent, and apart for the share of sync in idle + churn. */
  syncSend(node: number, n: number, now: number): void {
    this.count(node, n, 'sent', now);
    const w = this.win(now);
    if (w === 1 || w === 2) this.syncBytes += n;
  }

  /** Bytes per second of window `w`, mean and max over the `live` nodes. */
  rates(w: number, live: number[]) {
    const span = (this.windows[w]! - (w === 0 ? 0 : this.windows[w - 1]!)) / 1000;
    const per = (xs: Float64Array) => live.map((j) => xs[j]! / span);
    const s = per(this.bytes[w]!.sent);
    const r = per(this.bytes[w]!.recv);
    const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));
    return {
      sentMean: mean(s),
      sentMax: Math.round(Math.max(...s)),
      recvMean: mean(r),
      recvMax: Math.round(Math.max(...r)),
    };
  }

  /** The share of sync bytes in all bytes sent in the idle and churn windows. */
  syncShare(): number {
    const sent = sumAll(this.bytes[1]!.sent) + sumAll(this.bytes[2]!.sent);
    return Number((this.syncBytes / (sent || 1)).toFixed(3));
  }

  private win(now: number): number {
    const w = this.windows;
    return now < w[0]! ? 0 : now < w[1]! ? 1 : now < w[2]! ? 2 : 3;
  }
}

const sumAll = (xs: Float64Array): number => xs.reduce((a, b) => a + b, 0);
