/** One value a member reported at one time. */
export interface TraceSample {
  /** Epoch ms. */
  at: number;
  metric: string;
  value: number;
  /** The member that reported it; null: every member reports this value. */
  member: string | null;
}

const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// A date, optionally a time and a zone: the forms Date.parse reads the same on every platform.
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** Epoch ms from an ISO 8601 time or a number of unix seconds; a message when neither. */
export function parseTime(raw: unknown): number | string {
  if (typeof raw === 'number') return Number.isFinite(raw) ? Math.round(raw * 1000) : `time ${raw} is not finite`;
  if (typeof raw !== 'string') return `time must be an ISO 8601 string or unix seconds, got ${describe(raw)}`;
  const text = raw.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const ms = ISO.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(ms) ? `bad time '${text}' (expected ISO 8601, e.g. 2024-05-01T08:00:00Z, or unix seconds)` : ms;
}

/** A finite number from a number or numeric text; a message when not. */
export function parseValue(raw: unknown): number | string {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : `value ${raw} is not finite`;
  if (typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
  return `value ${describe(raw)} is not a number`;
}

export function checkMetric(raw: unknown): string | { problem: string } {
  if (typeof raw === 'string' && METRIC_NAME.test(raw)) return raw;
  return { problem: `metric ${describe(raw)} is not a metric name ([A-Za-z_][A-Za-z0-9_]*)` };
}

export function describe(raw: unknown): string {
  if (typeof raw === 'string') return `'${raw.length > 40 ? `${raw.slice(0, 40)}…` : raw}'`;
  return raw === undefined ? 'nothing' : (JSON.stringify(raw) ?? String(raw));
}
