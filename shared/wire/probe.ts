import { checkMetrics, decodeCbor } from './codec.ts';
import type { MetricMap } from './metrics.ts';

/**
 * Point-to-point frames between neighbours on `/poolparty/<pool>/probe/2`: SWIM probes and load
 * reports. They are the only periodic traffic of an idle agent, so each is a small CBOR array
 * (a tag, then positional fields) rather than a keyed map.
 */
export type ProbeFrame =
  | { t: 'ping'; seq: number }
  | { t: 'ack'; seq: number }
  | { t: 'ping-req'; seq: number; target: string }
  | { t: 'nack'; seq: number }
  /** A member's metrics for the leader; `term` is the leader term it follows (its lease ack). */
  | { t: 'load'; term: number; metrics: MetricMap };

const TAGS = ['ping', 'ack', 'ping-req', 'nack', 'load'] as const;
const MAX_ID = 128;

export function probeProtocol(pool: string): string {
  return `/poolparty/${pool}/probe/2`;
}

export function syncProtocol(pool: string): string {
  return `/poolparty/${pool}/sync/2`;
}

export function frameToWire(f: ProbeFrame): unknown[] {
  switch (f.t) {
    case 'ping':
    case 'ack':
    case 'nack':
      return [TAGS.indexOf(f.t), f.seq];
    case 'ping-req':
      return [2, f.seq, f.target];
    case 'load':
      return [4, f.term, f.metrics];
  }
}

/** Decodes one frame; a string says what was wrong (the frame is dropped, the peer counted). */
export function decodeFrame(bytes: Uint8Array): ProbeFrame | string {
  const v = decodeCbor(bytes);
  if (!Array.isArray(v)) return 'not a CBOR array';
  const [tag, a, b] = v as [unknown, unknown, unknown];
  if (typeof tag !== 'number' || !Number.isInteger(tag) || tag < 0 || tag >= TAGS.length) return 'unknown frame tag';
  if (!Number.isSafeInteger(a) || (a as number) < 0) return 'bad sequence or term';
  const n = a as number;
  switch (TAGS[tag]) {
    case 'ping':
      return { t: 'ping', seq: n };
    case 'ack':
      return { t: 'ack', seq: n };
    case 'nack':
      return { t: 'nack', seq: n };
    case 'ping-req':
      if (typeof b !== 'string' || b.length === 0 || b.length > MAX_ID) return 'bad ping-req target';
      return { t: 'ping-req', seq: n, target: b };
    default: {
      const bad = checkMetrics(b);
      if (bad) return `load ${bad}`;
      return { t: 'load', term: n, metrics: b as MetricMap };
    }
  }
}
