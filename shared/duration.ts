/** Durations in config are either milliseconds (number) or strings like '500ms', '5s', '2m', '1h'. */
export type Duration = number | string;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/;

export class DurationError extends Error {
  override name = 'DurationError';
}

/** Parses a duration into milliseconds; throws DurationError naming the bad value. */
export function parseDuration(value: Duration): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new DurationError(`invalid duration ${value}: expected a non-negative number of ms`);
    return value;
  }
  const m = PATTERN.exec(value);
  if (!m) throw new DurationError(`invalid duration '${value}': expected e.g. 500ms, 5s, 2m, 1h`);
  return Math.round(Number(m[1]) * (UNITS[m[2] as string] as number));
}

/** Formats milliseconds compactly for humans (tables, logs). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.floor((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h${Math.floor((ms % 3_600_000) / 60_000)}m`;
}
