import { encode } from 'cborg';
import type { MetricMap } from '../../shared/wire/metrics.ts';
import { frameToWire, type SummaryFrame, type SummaryRow } from '../../shared/wire/probe.ts';
import type { LoadBook } from './book.ts';

/**
 * The leader's summary as rows: itself first (age 0), then every member in `ids` it has a report
 * from, with the report's age now. Pure.
 */
export function summaryRows(
  self: string,
  own: MetricMap,
  ids: readonly string[],
  book: LoadBook,
  now: number,
): SummaryRow[] {
  const rows: SummaryRow[] = [{ peerId: self, ageMs: 0, metrics: own }];
  for (const id of ids) {
    const e = book.get(id);
    if (e) rows.push({ peerId: id, ageMs: Math.max(0, Math.round(now - e.at)), metrics: e.metrics });
  }
  return rows;
}

/**
 * Splits a summary into frames of at most `maxBytes` encoded (each a self-contained set of rows),
 * so a pool of thousands still fits the probe channel's frame limit. A row is measured alone with
 * its metric names spelled out, an upper bound of what it adds to a frame that names them once.
 */
export function summaryFrames(term: number, rows: readonly SummaryRow[], maxBytes: number): SummaryFrame[] {
  const frames: SummaryFrame[] = [];
  const overhead = encode(frameToWire({ t: 'summary', term, rows: [] })).byteLength;
  let current: SummaryRow[] = [];
  let size = overhead;
  for (const row of rows) {
    const bytes = encode([row.peerId, row.ageMs, row.metrics]).byteLength;
    if (current.length > 0 && size + bytes > maxBytes) {
      frames.push({ t: 'summary', term, rows: current });
      current = [];
      size = overhead;
    }
    current.push(row);
    size += bytes;
  }
  if (current.length > 0) frames.push({ t: 'summary', term, rows: current });
  return frames;
}
