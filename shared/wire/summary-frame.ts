import { checkMetrics, WIRE_LIMITS } from './codec.ts';
import type { MetricMap } from './metrics.ts';

/** One member's metrics in the leader's load summary, and their age when the leader sent it. */
export interface SummaryRow {
  peerId: string;
  /** ms since the member sampled them, on the leader's clock at sending. */
  ageMs: number;
  metrics: MetricMap;
}

/**
 * The leader's load summary, sent point to point to each member that follows it (a part of it:
 * a summary larger than one frame goes as several, each a self-contained set of rows).
 */
export interface SummaryFrame {
  t: 'summary';
  term: number;
  rows: SummaryRow[];
}

/** Its index in probe.ts's frame tags. */
export const SUMMARY_TAG = 6;
const MAX_ID = 128;

/**
 * [6, term, names, ...rows], each row [peerId, ageMs, nameIndex, value, nameIndex, value, …]: the
 * metric names once per frame, not once per member (most members gossip the same few).
 */
export function summaryToWire(f: SummaryFrame): unknown[] {
  const names: string[] = [];
  const index = new Map<string, number>();
  const rows = f.rows.map((r) => {
    const row: unknown[] = [r.peerId, r.ageMs];
    for (const [name, value] of Object.entries(r.metrics)) {
      let i = index.get(name);
      if (i === undefined) {
        i = names.push(name) - 1;
        index.set(name, i);
      }
      row.push(i, value);
    }
    return row;
  });
  return [SUMMARY_TAG, f.term, names, ...rows];
}

/** Decodes [6, term, names, ...rows] (the tag and term already checked); a string says what was wrong. */
export function decodeSummary(term: number, v: unknown[]): SummaryFrame | string {
  const names = v[2];
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) return 'bad summary names';
  const rows: SummaryRow[] = [];
  for (let i = 3; i < v.length; i++) {
    const row = v[i];
    if (!Array.isArray(row) || row.length < 2 || row.length % 2 !== 0) return 'bad summary row';
    const [peerId, ageMs] = row as [unknown, unknown];
    if (typeof peerId !== 'string' || peerId.length === 0 || peerId.length > MAX_ID) return 'bad summary peer';
    if (!Number.isSafeInteger(ageMs) || (ageMs as number) < 0) return 'bad summary age';
    if ((row.length - 2) / 2 > WIRE_LIMITS.maxMetrics) return 'too many metrics in a summary row';
    const pairs: Array<[string, MetricMap[string]]> = [];
    for (let j = 2; j < row.length; j += 2) {
      const name = Number.isInteger(row[j]) ? (names[row[j] as number] as string | undefined) : undefined;
      if (name === undefined) return 'bad summary metric index';
      pairs.push([name, row[j + 1] as MetricMap[string]]);
    }
    // fromEntries defines own properties: a metric named __proto__ cannot reach the prototype.
    const metrics: MetricMap = Object.fromEntries(pairs);
    const bad = checkMetrics(metrics);
    if (bad) return `summary ${bad}`;
    rows.push({ peerId, ageMs: ageMs as number, metrics });
  }
  return { t: 'summary', term, rows };
}
