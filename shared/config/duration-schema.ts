import * as z from 'zod';
import { type Duration, parseDuration } from '../duration.ts';

/**
 * A config duration (ms number or a string like '1s') converted to ms; `min` rejects e.g. a zero
 * interval. Shared by every config schema so the same input gives the same one-line error.
 * Typed as taking a Duration (what a config may write, hence what z.input shows) though it
 * accepts anything at run time: it checks the type itself to word the error.
 */
export const durationSchema = (min = 0): z.ZodType<number, Duration> =>
  z.unknown().transform((value, ctx): number => {
    if (typeof value !== 'number' && typeof value !== 'string') {
      const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
      ctx.addIssue({ code: 'custom', message: `expected a duration (ms or e.g. '1s'), got ${got}` });
      return z.NEVER;
    }
    try {
      const ms = parseDuration(value);
      if (ms < min)
        ctx.addIssue({ code: 'custom', message: `must be at least ${min}ms, got ${JSON.stringify(value)}` });
      return ms;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }) as unknown as z.ZodType<number, Duration>;
