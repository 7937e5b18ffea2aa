import { checkMetric, describe, parseTime, parseValue, type TraceSample } from './trace-fields.ts';
import { parsePrometheus } from './trace-prometheus.ts';

export type { TraceSample } from './trace-fields.ts';

/**
 * A metric trace to replay: what members reported, when. Three formats, told apart by their
 * first character so a file needs no flag: CSV with a header row (`time,metric,value[,member]`),
 * JSON lines with the same fields, or the JSON of a Prometheus range query.
 */

export interface Trace {
  samples: TraceSample[];
  /** Every metric named, in order of first appearance. */
  metrics: string[];
  /** Every member named, in order of first appearance (empty when the trace names none). */
  members: string[];
  /** First and last sample time (epoch ms). */
  start: number;
  end: number;
}

export interface TraceOptions {
  /** The metric a Prometheus series without `__name__` stands for (e.g. the one a rule reads). */
  metric?: string;
}

/** A trace that does not parse: each problem is one line, `file:line: what is wrong`. */
export class TraceError extends Error {
  override name = 'TraceError';
}

/** Problems listed at most; a wrong file would otherwise print thousands of identical lines. */
const MAX_PROBLEMS = 10;

const FIELDS = ['time', 'metric', 'value', 'member'] as const;

/** Parses a trace's text; `file` names it in errors. Throws TraceError listing every bad line. */
export function parseTrace(text: string, file: string, options: TraceOptions = {}): Trace {
  const body = text.replace(/^\uFEFF/, '');
  const first = body.trimStart()[0];
  const problems: string[] = [];
  let samples: TraceSample[];
  if (first === '{' && looksLikePrometheus(body)) samples = parsePrometheus(body, file, options.metric, problems);
  else if (first === '{') samples = parseJsonLines(body, file, problems);
  else samples = parseCsv(body, file, problems);
  if (problems.length === 0 && samples.length === 0) problems.push(`${file}: no samples`);
  if (problems.length > 0) throw traceError(file, problems);
  return summarize(samples);
}

/** One problem is one line; several are listed under `file: N problems:`, one indented line each. */
function traceError(file: string, problems: string[]): TraceError {
  if (problems.length === 1) return new TraceError(problems[0] as string);
  const shown = problems.slice(0, MAX_PROBLEMS);
  if (problems.length > MAX_PROBLEMS) shown.push(`… and ${problems.length - MAX_PROBLEMS} more`);
  return new TraceError([`${file}: ${problems.length} problems:`, ...shown.map((p) => `  ${p}`)].join('\n'));
}

function looksLikePrometheus(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as { data?: unknown };
    return typeof parsed === 'object' && parsed !== null && 'data' in parsed;
  } catch {
    return false;
  }
}

function parseCsv(body: string, file: string, problems: string[]): TraceSample[] {
  const lines = body.split(/\r?\n/);
  const headerIndex = lines.findIndex((l) => l.trim() !== '' && !l.startsWith('#'));
  if (headerIndex < 0) return [];
  const header = splitCsv(lines[headerIndex] as string).map((h) => h.toLowerCase());
  const at = (name: string) => header.indexOf(name);
  for (const h of header) {
    if (!(FIELDS as readonly string[]).includes(h)) {
      problems.push(
        `${file}:${headerIndex + 1}: unknown column '${h}' (expected time, metric, value and optionally member)`,
      );
    }
  }
  const missing = FIELDS.slice(0, 3).filter((f) => at(f) < 0);
  if (missing.length > 0) {
    problems.push(
      `${file}:${headerIndex + 1}: header lacks ${missing.join(', ')} (expected time,metric,value[,member])`,
    );
  }
  if (problems.length > 0) return [];
  const samples: TraceSample[] = [];
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const cells = splitCsv(line);
    const where = `${file}:${i + 1}`;
    if (cells.length !== header.length) {
      problems.push(`${where}: ${cells.length} fields, the header has ${header.length}`);
      continue;
    }
    const record: Record<string, string> = {};
    header.forEach((h, k) => {
      record[h] = cells[k] as string;
    });
    const sample = toSample(record, where, problems);
    if (sample) samples.push(sample);
  }
  return samples;
}

function parseJsonLines(body: string, file: string, problems: string[]): TraceSample[] {
  const samples: TraceSample[] = [];
  body.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file}:${i + 1}`;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (err) {
      problems.push(`${where}: not JSON: ${(err as Error).message}`);
      return;
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      problems.push(`${where}: expected an object with time, metric, value (and optionally member)`);
      return;
    }
    const unknown = Object.keys(record).filter((k) => !(FIELDS as readonly string[]).includes(k));
    if (unknown.length > 0) {
      problems.push(`${where}: unknown field '${unknown[0]}' (expected time, metric, value and optionally member)`);
      return;
    }
    const sample = toSample(record as Record<string, unknown>, where, problems);
    if (sample) samples.push(sample);
  });
  return samples;
}

function toSample(record: Record<string, unknown>, where: string, problems: string[]): TraceSample | null {
  for (const f of FIELDS.slice(0, 3)) {
    if (record[f] === undefined || record[f] === '') {
      problems.push(`${where}: ${f} is missing`);
      return null;
    }
  }
  const at = parseTime(record.time);
  const metric = checkMetric(record.metric);
  const value = parseValue(record.value);
  const member = record.member;
  const problem =
    typeof at === 'string'
      ? at
      : typeof metric === 'object'
        ? metric.problem
        : typeof value === 'string'
          ? value
          : member !== undefined && member !== null && typeof member !== 'string'
            ? `member must be a string, got ${describe(member)}`
            : null;
  if (problem) {
    problems.push(`${where}: ${problem}`);
    return null;
  }
  const name = typeof member === 'string' && member.trim() !== '' ? member.trim() : null;
  return { at: at as number, metric: metric as string, value: value as number, member: name };
}

/** Splits a CSV line; a field may be double-quoted (with "" for a quote inside). */
function splitCsv(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cell.trim());
      cell = '';
    } else cell += c;
  }
  cells.push(cell.trim());
  return cells;
}

function summarize(samples: TraceSample[]): Trace {
  // Stable: samples of one instant keep the file's order.
  const sorted = samples.map((s, i) => ({ s, i })).sort((a, b) => a.s.at - b.s.at || a.i - b.i);
  const ordered = sorted.map((x) => x.s);
  const metrics: string[] = [];
  const members: string[] = [];
  for (const s of ordered) {
    if (!metrics.includes(s.metric)) metrics.push(s.metric);
    if (s.member !== null && !members.includes(s.member)) members.push(s.member);
  }
  return {
    samples: ordered,
    metrics,
    members,
    start: (ordered[0] as TraceSample).at,
    end: (ordered[ordered.length - 1] as TraceSample).at,
  };
}
