import * as z from 'zod';
import type { MetricSourceSpec } from '../wire/metrics.ts';
import { durationSchema as duration } from './duration-schema.ts';

/**
 * A cloud's custom metric as written in clouds.ts: a shell command printing a number, a file
 * holding one, or an HTTP JSON endpoint, each with its sampling timing and whether it is a counter. Parsed into the
 * MetricSourceSpec the agent samples (shared/wire/metric-source.ts): defaults applied, ms.
 */

const timing = {
  /** How often the metric is sampled (ms or '5s'). Default 5000. */
  every: duration(1).default(5000),
  /** A sample taking longer than this fails: value null, error shown in /stats (ms or '2s'). Default 2000. */
  timeout: duration(1).default(2000),
  /**
   * The source is a counter that only grows (requests served, jobs done): what is gossiped and
   * what rules read is its per-second rate between the agent's samples. The first sample, and one
   * where the counter went down (a restart), yield no value. Default false.
   */
  counter: z.boolean({ error: 'expected true or false' }).default(false),
};

const timingSchema = z.strictObject(timing);

/** Defaults of what every kind of custom metric shares (ms): the schema's own, parsed from nothing. */
export const METRIC_DEFAULTS = Object.freeze(timingSchema.parse({}));

/** Each kind's own fields; the timing and counter are shared, so an editor shows their doc whichever kind is written. */
const kinds = {
  command: z.strictObject({
    /** A shell command that prints a number. */
    command: z.string().min(1),
  }),
  file: z.strictObject({
    /** A file holding a number; a relative path is relative to the pool's state dir. */
    file: z.string().min(1),
  }),
  http: z.strictObject({
    /** An HTTP(S) endpoint answering JSON. */
    http: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
    /** Dotted path into the JSON body, e.g. 'queue.depth'. Default: the body is the number. */
    path: z.string().min(1).optional(),
  }),
};
type Kind = keyof typeof kinds;
const KINDS = Object.keys(kinds) as Kind[];
const sources = {
  command: kinds.command.extend(timing),
  file: kinds.file.extend(timing),
  http: kinds.http.extend(timing),
};

/** A custom metric as written: exactly one of command, file, http, its timing and counter flag. */
export type MetricInput = z.input<(typeof kinds)[Kind]> & z.input<typeof timingSchema>;

/**
 * Picks the source by its key, so an error names the real problem ("exactly one of …", a bad URL)
 * instead of every member of a union failing at once.
 */
export const metricSchema = z.unknown().transform((value, ctx): MetricSourceSpec => {
  const m = (value !== null && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  const kinds = KINDS.filter((k) => m[k] !== undefined);
  if (kinds.length !== 1) {
    const got = kinds.length === 0 ? 'none' : kinds.join(' and ');
    ctx.addIssue({ code: 'custom', message: `expected exactly one of command, file, http (got ${got})` });
    return z.NEVER;
  }
  const kind = kinds[0] as Kind;
  if (m.path !== undefined && kind !== 'http') {
    ctx.addIssue({ code: 'custom', path: ['path'], message: 'path is only valid with http' });
    return z.NEVER;
  }
  const r = sources[kind].safeParse(value);
  if (!r.success) {
    for (const issue of r.error.issues) ctx.addIssue({ ...issue } as never);
    return z.NEVER;
  }
  // A gauge resolves as it did before counters existed (the wire reads an absent flag as a gauge),
  // so a pool without counters writes the same agent config as before.
  const { counter, ...rest } = r.data;
  return { kind, ...rest, ...(counter ? { counter } : {}) } as MetricSourceSpec;
}) as unknown as z.ZodType<MetricSourceSpec, MetricInput>;
