import { Cron } from 'croner';
import * as z from 'zod';
import { AGGREGATES } from '../scaling/rule.ts';
import { PERCENT } from '../scaling/step-amount.ts';
import { durationSchema as duration } from './duration-schema.ts';

/**
 * The scaling policies beyond threshold rules (issue 18), as written in a cloud's `scaling` block
 * and as carried, resolved, in an agent config (same schema both ways). Each is evaluated by its
 * own module under shared/scaling/policies/; shared/scaling/step.ts combines them.
 */

const metricName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected a metric name (letters, digits, _), e.g. cpu' });
const aggregate = z.enum(AGGREGATES);

/**
 * Target tracking, as the Kubernetes HPA does it: desired = ceil(count × value / target) once the
 * ratio leaves the tolerance band; a scale-in takes the highest size recommended over the
 * scale-in stabilization window, so a dip does not shed instances that a minute later are needed.
 */
export const targetSchema = z.strictObject({
  /** The metric to hold near `value`, e.g. 'cpu' (a built-in or a custom metric of the cloud). */
  metric: metricName,
  /** The value to hold it at, in the metric's unit (cpu is a percentage, load a fraction per core). */
  value: z.number().positive({ error: 'must be above 0' }),
  /** How the members' values are combined (avg, min, max, sum, p50, p90, p99, permember). Default 'avg'. */
  agg: aggregate.default('avg'),
  /** Relative band around the target in which nothing changes (0.1: ±10 %). Default 0.1. */
  tolerance: z.number().min(0).lt(1).default(0.1),
  /** A scale-in takes the highest recommendation over this long (ms or '5m'). Default 300000. */
  scaleInStabilization: duration().default(300_000),
  /** A scale-out takes the lowest recommendation over this long (ms or '30s'). Default 0: at once. */
  scaleOutStabilization: duration().default(0),
});

/** A step size: a count of instances, or a percentage of the current count like '10%'. */
const amount = z.union([
  z.number().int().min(1),
  z.string().refine((s) => PERCENT.test(s) && Number(PERCENT.exec(s)?.[1]) > 0, {
    error: "expected a count of instances or a percentage like '10%'",
  }),
]);

/**
 * One step of step scaling: `{ above: 0.7, add: 1 }` or `{ below: 0.2, remove: '10%' }`. When
 * several match, the one furthest past its threshold wins (the highest `above`, lowest `below`).
 */
export const stepSchema = z
  .strictObject({
    /** The step applies while the aggregate is above this value. */
    above: z.number().optional(),
    /** The step applies while the aggregate is below this value. */
    below: z.number().optional(),
    /** Instances to add (with `above`): a count or a percentage of the current count. */
    add: amount.optional(),
    /** Instances to remove (with `below`): a count or a percentage of the current count. */
    remove: amount.optional(),
    /** The metric the step reads. Default 'load'. */
    metric: metricName.default('load'),
    /** How the members' values are combined. Default 'avg'. */
    agg: aggregate.default('avg'),
  })
  .superRefine((s, ctx) => {
    const up = s.above !== undefined;
    if (up === (s.below !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a step needs exactly one of above, below' });
    } else if (up ? s.add === undefined || s.remove !== undefined : s.remove === undefined || s.add !== undefined) {
      ctx.addIssue({ code: 'custom', message: up ? "a step 'above' takes add" : "a step 'below' takes remove" });
    }
  });

/**
 * A scheduled capacity window: from each time `cron` fires (in `timezone`) the cloud's min and/or
 * max are these, for `for` or — without it — until another window of the cloud fires.
 */
export const scheduleSchema = z
  .strictObject({
    /** Five-field cron (minute hour day month weekday), e.g. '0 8 * * 1-5'. */
    cron: z.string().min(1),
    /** IANA time zone the cron is read in, e.g. 'Europe/Berlin'. Default: UTC. */
    timezone: z.string().min(1).optional(),
    /** The cloud's min while the window is active. */
    min: z.number().int().min(0).optional(),
    /** The cloud's max while the window is active. */
    max: z.number().int().min(1).optional(),
    /** How long the window lasts (ms or '10h'). Default: until another window fires. */
    for: duration(1).optional(),
  })
  .superRefine((w, ctx) => {
    if (w.min === undefined && w.max === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a schedule window sets min, max or both' });
    } else if (w.min !== undefined && w.max !== undefined && w.min > w.max) {
      ctx.addIssue({ code: 'custom', path: ['min'], message: `min ${w.min} is above max ${w.max}` });
    }
    if (w.timezone !== undefined && !validZone(w.timezone)) {
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: `unknown time zone '${w.timezone}'` });
      return;
    }
    const problem = cronProblem(w.cron, w.timezone);
    if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: problem });
  });

export type TargetPolicy = z.output<typeof targetSchema>;
export type StepPolicy = z.output<typeof stepSchema>;
export type ScheduleWindow = z.output<typeof scheduleSchema>;

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function cronProblem(pattern: string, timezone: string | undefined): string | null {
  if (pattern.trim().split(/\s+/).length !== 5) {
    return `expected a five-field cron (minute hour day month weekday), got '${pattern}'`;
  }
  try {
    new Cron(pattern, { paused: true, ...(timezone ? { timezone } : {}) });
    return null;
  } catch (err) {
    // croner prefixes its class name; the rest is the reason.
    return `bad cron '${pattern}': ${(err as Error).message.replace(/^\w+: /, '')}`;
  }
}
