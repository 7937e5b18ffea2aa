import { encode } from 'cborg';
import type { MetricMap } from '../../shared/wire/metrics.ts';
import { frameToWire, type SummaryFrame, type SummaryRow } from '../../shared/wire/probe.ts';
import type { RuleWindow } from '../../shared/wire/summary-frame.ts';
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
 * The `unbound` peer ids (the leader's listing refusals) go after the rows, split the same way,
 * each in one frame only; none: no frame carries the list. The leader's rule `windows` (a few
 * dozen bytes per rule) go in every frame, so whichever frame a follower got last says them whole.
 */
export function summaryFrames(
  term: number,
  rows: readonly SummaryRow[],
  maxBytes: number,
  unbound: readonly string[] = [],
  windows: readonly RuleWindow[] = [],
): SummaryFrame[] {
  const frames: SummaryFrame[] = [];
  const carried = windows.length > 0 ? { windows: [...windows] } : {};
  const overhead = encode(frameToWire({ t: 'summary', term, rows: [], ...carried })).byteLength;
  let current: SummaryRow[] = [];
  let ids: string[] = [];
  let size = overhead;
  const flush = () => {
    frames.push({ t: 'summary', term, rows: current, ...carried, ...(ids.length > 0 ? { unbound: ids } : {}) });
    current = [];
    ids = [];
    size = overhead;
  };
  for (const row of rows) {
    const bytes = encode([row.peerId, row.ageMs, row.metrics]).byteLength;
    if (current.length > 0 && size + bytes > maxBytes) flush();
    current.push(row);
    size += bytes;
  }
  for (const id of unbound) {
    // The first id of a frame also pays for the table's empty-string mark (1 byte).
    const bytes = encode(id).byteLength + (ids.length === 0 ? 1 : 0);
    if ((current.length > 0 || ids.length > 0) && size + bytes > maxBytes) flush();
    ids.push(id);
    size += bytes;
  }
  if (current.length > 0 || ids.length > 0) flush();
  return frames;
}
