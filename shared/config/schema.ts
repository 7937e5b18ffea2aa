import * as z from 'zod';
import { parseRule, RuleSyntaxError } from '../scaling/rule.ts';
import { BUILTIN_METRICS } from '../wire/metrics.ts';
import { configureFields, toConfigure } from './configure-schema.ts';
import { type Ec2UsingDefinition, ec2UsingSchema } from './ec2-schema.ts';
import { type LocalUsingDefinition, localUsingSchema, normalizeLocalUsing } from './local-schema.ts';
import { metricSchema } from './metric-schema.ts';
import { scalingSchema } from './scaling-schema.ts';
import { normalizeSshUsing, SshConfigError, type SshUsingDefinition, sshUsingSchema } from './ssh-schema.ts';
import {
  type AgentTunables,
  agentTunablesSchema,
  monitorSchema,
  RETIRED_TUNABLES,
  type TunablesInput,
} from './tunables.ts';
import { type VsphereUsingDefinition, vsphereUsingSchema } from './vsphere-schema.ts';

/**
 * Validation of clouds.ts and its normalised form, the PoolDefinition (z.output of poolSchema):
 * defaults applied, durations in ms, tunables merged over the defaults, metrics resolved to
 * MetricSourceSpec. What a user writes is z.input of the same schemas (shared/define.ts).
 */

export type UsingDefinition = LocalUsingDefinition | Ec2UsingDefinition | SshUsingDefinition | VsphereUsingDefinition;
/** One cloud, normalised: every block present with its defaults. */
export type CloudDefinition = z.output<typeof cloudSchema>;
export type PoolDefinition = z.output<typeof poolSchema>;
/** A cloud as written in clouds.ts, but for its configure fields (their input types: shared/resources). */
export type CloudFieldsInput = Omit<z.input<typeof cloudSchema>, keyof typeof configureFields>;
/** The pool as written in clouds.ts, but for its clouds. */
export type PoolFieldsInput = Omit<z.input<typeof poolSchema>, 'clouds'>;

const NAME = /^[a-z0-9][a-z0-9-]*$/;
const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const name = (what: string) =>
  z
    .string()
    .max(32, { error: `${what} must be at most 32 characters` })
    .regex(NAME, { error: `${what} may contain only lowercase letters, digits and '-' (and not start with '-')` });

const count = z.number().int().min(1);

const usingSchema = z.discriminatedUnion('provider', [
  localUsingSchema,
  ec2UsingSchema,
  sshUsingSchema,
  vsphereUsingSchema,
]);

/** A cloud's `agent` block; a retired tunable fails with what to do about it, not as unknown. */
const tunablesSchema = z.preprocess((value, ctx) => {
  if (value === null || typeof value !== 'object') return value;
  for (const key of Object.keys(value)) {
    const why = RETIRED_TUNABLES[key];
    if (why !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: why });
  }
  return value;
}, agentTunablesSchema) as unknown as z.ZodType<AgentTunables, TunablesInput>;

const cloudSchema = z
  .strictObject({
    /** Bounds of the instance count; the pool is bootstrapped with `min`. */
    instances: z.strictObject({ min: z.number().int().min(0), max: count }),
    /** Where the cloud's instances come from: local(), ssh({...}), ec2({...}) or vsphere({...}). */
    using: usingSchema,
    /**
     * Custom metrics by name (identifiers; load, cpu and mem are built in). A relative `file` is
     * relative to the pool's state dir (see `stateDir`), where the CLI can write it too.
     */
    metrics: z.record(z.string(), metricSchema).optional(),
    /** Agent tunables, each documented with its default in shared/config/tunables.ts. */
    agent: tunablesSchema.prefault({}),
    /** Where each agent serves its monitor (fields and defaults: monitorSchema in tunables.ts). */
    monitor: monitorSchema.prefault({}),
    /** How the cloud's leader scales it; without it the leader still keeps instances.min..max. */
    scaling: scalingSchema.prefault({}),
    ...configureFields,
  })
  .transform((c, ctx) => {
    const { min, max } = c.instances;
    if (min > max) {
      ctx.addIssue({ code: 'custom', path: ['instances'], message: `min (${min}) is greater than max (${max})` });
    }
    for (const metric of Object.keys(c.metrics ?? {})) {
      if (!METRIC_NAME.test(metric)) {
        ctx.addIssue({ code: 'custom', path: ['metrics', metric], message: 'metric names must be identifiers' });
      } else if ((BUILTIN_METRICS as readonly string[]).includes(metric)) {
        ctx.addIssue({ code: 'custom', path: ['metrics', metric], message: `'${metric}' is a built-in metric` });
      }
    }
    const monitor = c.monitor;
    const using = normalizeUsing(c.using, monitor.port, ctx);
    if (using === undefined) return z.NEVER;
    // An ec2 or vsphere node serves its monitor on the cloud's monitor port, next to p2pPort on the same address.
    const monitorPort = using.provider === 'ec2' || using.provider === 'vsphere' ? monitor.port : using.monitorPort;
    if (using.p2pPort === monitorPort) {
      ctx.addIssue({ code: 'custom', path: ['using'], message: `p2pPort and monitorPort are both ${using.p2pPort}` });
    }
    const scaling = c.scaling;
    // Checked against this cloud's metrics: a typo would otherwise aggregate nothing and never fire.
    const known = [...BUILTIN_METRICS, ...Object.keys(c.metrics ?? {})];
    for (const key of ['expandWhen', 'contractWhen'] as const) {
      const text = scaling[key];
      if (text === null) continue;
      try {
        parseRule(text, known);
      } catch (err) {
        if (!(err instanceof RuleSyntaxError)) throw err;
        ctx.addIssue({ code: 'custom', path: ['scaling', key], message: err.message });
      }
    }
    const unknown = (metric: string) => `unknown metric '${metric}' (known: ${known.join(', ')})`;
    if (scaling.target && !known.includes(scaling.target.metric)) {
      ctx.addIssue({ code: 'custom', path: ['scaling', 'target', 'metric'], message: unknown(scaling.target.metric) });
    }
    scaling.steps.forEach((step, i) => {
      if (!known.includes(step.metric)) {
        ctx.addIssue({ code: 'custom', path: ['scaling', 'steps', i, 'metric'], message: unknown(step.metric) });
      }
    });
    return {
      instances: { min, max },
      using,
      metrics: c.metrics ?? {},
      agent: c.agent,
      monitor,
      /** Always present: the defaults when the cloud has no scaling block (the leader still keeps min..max). */
      scaling,
      /** What the cloud's machines are configured with (resources, resolver, verifiers, hooks…); always present. */
      configure: toConfigure(c),
    };
  });

/**
 * Provider defaults: local and ssh get theirs here (ssh's may fail on duplicate hosts, reported
 * as an issue under `using`); ec2's schema already normalised its options.
 */
function normalizeUsing(
  u: z.output<typeof usingSchema>,
  monitorPort: number,
  ctx: z.core.$RefinementCtx,
): UsingDefinition | undefined {
  switch (u.provider) {
    case 'local':
      return normalizeLocalUsing(u, monitorPort);
    case 'ssh':
      try {
        return normalizeSshUsing(u, monitorPort);
      } catch (err) {
        if (!(err instanceof SshConfigError)) throw err;
        // normalizeSshUsing names the field first ('hosts: …'); a clash of ports has no field.
        const m = /^(\w+): (.*)$/.exec(err.message);
        ctx.addIssue({
          code: 'custom',
          path: m ? ['using', m[1] as string] : ['using'],
          message: m?.[2] ?? err.message,
        });
        return undefined;
      }
    default:
      return u;
  }
}

export const poolSchema = z.strictObject({
  /** Pool name: lowercase letters, digits and '-', at most 32 characters. */
  name: name('pool name'),
  /**
   * Where the CLI keeps the pool key and provider state. Default ~/.poolparty/<name>;
   * env POOLPARTY_STATE_DIR overrides it, and the CLI's --state-dir overrides both.
   * A relative path is relative to the config file (absolute after loadPool; see resolveStateDir).
   */
  stateDir: z.string().min(1).optional(),
  clouds: z
    .record(name('cloud name'), cloudSchema)
    .refine((clouds) => Object.keys(clouds).length > 0, { error: 'define at least one cloud' }),
});
