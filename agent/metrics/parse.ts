import { MetricParseError } from './errors.ts';

/** Pure helpers that turn what a source printed into a number. No I/O here. */

// Plain decimal notation only: Number() would also accept '0x1f', 'Infinity' and '' (as 0).
const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/** Shortens arbitrary text for an error message: one line, at most `max` characters. */
export function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function toNumber(token: string): number | undefined {
  if (!NUMBER.test(token)) return undefined;
  const n = Number(token);
  return Number.isFinite(n) ? n : undefined;
}

/** The whole (trimmed) text must be a number: a file's content, an HTTP body without a path. */
export function parseNumber(text: string, what = 'content'): number {
  const trimmed = text.trim();
  if (trimmed === '') throw new MetricParseError(`${what} is empty, expected a number`);
  const n = toNumber(trimmed);
  if (n === undefined) throw new MetricParseError(`${what} is not a number: '${oneLine(trimmed, 60)}'`);
  return n;
}

/**
 * The first whitespace-separated token of the text must be a number: a command's stdout, so
 * '42', '0.73\n' and '42 requests' all work, while 'error: 42' does not pass as 42.
 */
export function parseLeadingNumber(text: string, what = 'stdout'): number {
  const token = text.trim().split(/\s+/, 1)[0] ?? '';
  if (token === '') throw new MetricParseError(`${what} is empty, expected a number`);
  const n = toNumber(token);
  if (n === undefined) throw new MetricParseError(`${what} does not start with a number: '${oneLine(text, 60)}'`);
  return n;
}

/**
 * Walks parsed JSON by a dot path ('a.b.0.c'; numeric segments index arrays) and returns the
 * number found there. A numeric string leaf is accepted since many exporters quote numbers.
 */
export function numberAtPath(json: unknown, path: string): number {
  let current: unknown = json;
  const walked: string[] = [];
  for (const key of path.split('.')) {
    walked.push(key);
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(key)) throw new MetricParseError(`'${walked.join('.')}': expected an array index`);
      current = current[Number(key)];
    } else if (typeof current === 'object' && current !== null && Object.hasOwn(current, key)) {
      current = (current as Record<string, unknown>)[key];
    } else {
      current = undefined;
    }
    if (current === undefined) throw new MetricParseError(`'${walked.join('.')}' not found in the JSON body`);
  }
  if (typeof current === 'number' && Number.isFinite(current)) return current;
  if (typeof current === 'string') {
    const n = toNumber(current.trim());
    if (n !== undefined) return n;
  }
  throw new MetricParseError(`'${path}' is not a number: ${oneLine(JSON.stringify(current) ?? String(current), 60)}`);
}

/**
 * Rounds a value that rides in every heartbeat: 4 decimals for |v| ≥ 1 (never touching the
 * integer part, so counters stay exact), 4 significant digits below 1 (so 0.00001234 survives).
 */
export function roundMetric(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const abs = Math.abs(value);
  if (abs >= 1e12) return value;
  if (abs >= 1) return Math.round(value * 1e4) / 1e4;
  return Number(value.toPrecision(4));
}
