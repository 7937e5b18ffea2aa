import * as z from 'zod';

const positive = z.number().int().positive();
const nonEmpty = z.string().min(1);
/** Absent in an older CLI's config: a plain gauge. */
const counter = z.boolean().optional();

/**
 * A custom metric source, resolved from a cloud's `metrics` (defaults applied, durations in ms)
 * and carried in each agent's config. `every`: sampling period (ms); `timeout`: a sample taking
 * longer fails and reports null (ms); `counter`: the source is a monotonic counter and what is
 * gossiped is its per-second rate.
 */
export const metricSourceSchema = z.discriminatedUnion('kind', [
  /** A shell command that prints a number. */
  z.object({ kind: z.literal('command'), command: nonEmpty, every: positive, timeout: positive, counter }),
  /** A file holding a number (absolute once resolved for an agent). */
  z.object({ kind: z.literal('file'), file: nonEmpty, every: positive, timeout: positive, counter }),
  /** An HTTP endpoint answering JSON; `path` is a dotted path into the body, e.g. 'queue.depth'. */
  z.object({
    kind: z.literal('http'),
    http: z.url(),
    path: z.string().optional(),
    every: positive,
    timeout: positive,
    counter,
  }),
]);

export type MetricSourceSpec = z.infer<typeof metricSourceSchema>;
