import * as z from 'zod';

const positive = z.number().int().positive();
const nonEmpty = z.string().min(1);

/**
 * A custom metric source, resolved from a cloud's `metrics` (defaults applied, durations in ms)
 * and carried in each agent's config. `every`: sampling period (ms); `timeout`: a sample taking
 * longer fails and reports null (ms).
 */
export const metricSourceSchema = z.discriminatedUnion('kind', [
  /** A shell command that prints a number. */
  z.object({ kind: z.literal('command'), command: nonEmpty, every: positive, timeout: positive }),
  /** A file holding a number (absolute once resolved for an agent). */
  z.object({ kind: z.literal('file'), file: nonEmpty, every: positive, timeout: positive }),
  /** An HTTP endpoint answering JSON; `path` is a dotted path into the body, e.g. 'queue.depth'. */
  z.object({
    kind: z.literal('http'),
    http: z.url(),
    path: z.string().optional(),
    every: positive,
    timeout: positive,
  }),
]);

export type MetricSourceSpec = z.infer<typeof metricSourceSchema>;
