import * as z from 'zod';
import { parseRule, RuleSyntaxError } from '../scaling/rule.ts';
import { BUILTIN_METRICS, type MetricSourceSpec } from '../wire/metrics.ts';
import { type ConfigureDefinition, configureFields, toConfigure } from './configure-schema.ts';
import { durationSchema } from './duration-schema.ts';
import { type Ec2UsingDefinition, ec2UsingSchema } from './ec2-schema.ts';
import { type ScalingConfig, scalingSchema } from './scaling-schema.ts';
import { normalizeSshUsing, SshConfigError, type SshUsingDefinition, sshUsingSchema } from './ssh-schema.ts';
import {
  type AgentTunables,
  agentTunablesSchema,
  MONITOR_DEFAULTS,
  P2P_DEFAULT_PORT,
  RETIRED_TUNABLES,
} from './tunables.ts';

/**
 * Validation of clouds.ts and its normalised form. The input types live in shared/define.ts;
 * the schema turns input into a PoolDefinition: defaults applied, durations in ms, tunables
 * merged over the defaults, metrics resolved to MetricSourceSpec.
 */

/** Defaults of a custom metric's timing (ms). */
export const METRIC_DEFAULTS = { every: 5000, timeout: 2000 } as const;
/** Default first loopback address of a local cloud. */
export const LOCAL_FIRST_ADDRESS = '127.0.0.2';

export interface LocalUsingDefinition {
  provider: 'local';
  firstAddress: string;
  p2pPort: number;
  monitorPort: number;
}

export type UsingDefinition = LocalUsingDefinition | Ec2UsingDefinition | SshUsingDefinition;

export interface CloudDefinition {
  instances: { min: number; max: number };
  using: UsingDefinition;
  metrics: Record<string, MetricSourceSpec>;
  agent: AgentTunables;
  monitor: { host: string; port: number };
  /** Always present: SCALING_DEFAULTS when the cloud has no scaling block (the leader still keeps min..max). */
  scaling: ScalingConfig;
  /** What the cloud's machines are configured with (resources, resolver, verifiers, hooks…); always present. */
  configure: ConfigureDefinition;
}

export interface PoolDefinition {
  name: string;
  /** As written in the file (absolute after loadPool); see resolveStateDir for the effective dir. */
  stateDir?: string;
  clouds: Record<string, CloudDefinition>;
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;
const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

const name = (what: string) =>
  z
    .string()
    .max(32, { error: `${what} must be at most 32 characters` })
    .regex(NAME, { error: `${what} may contain only lowercase letters, digits and '-' (and not start with '-')` });

const port = z.number().int().min(1).max(65535);
const count = z.number().int().min(1);

/** A duration (ms number or '1s' string) converted to ms; `min` rejects e.g. a zero interval. */
const duration = durationSchema;

const loopbackAddress = z.string().refine(
  (s) => {
    const m = LOOPBACK.exec(s);
    if (!m) return false;
    const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return a <= 255 && b <= 255 && c >= 1 && c <= 254;
  },
  { error: (iss) => `expected a loopback address 127.a.b.c (c in 1..254), got ${JSON.stringify(iss.input)}` },
);

const localUsing = z.strictObject({
  provider: z.literal('local'),
  firstAddress: loopbackAddress.optional(),
  p2pPort: port.optional(),
  monitorPort: port.optional(),
});

const usingSchema = z.discriminatedUnion('provider', [localUsing, ec2UsingSchema, sshUsingSchema]);

const metricSchema = z
  .strictObject({
    command: z.string().min(1).optional(),
    file: z.string().min(1).optional(),
    http: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
    path: z.string().min(1).optional(),
    every: duration(1).optional(),
    timeout: duration(1).optional(),
  })
  .transform((m, ctx): MetricSourceSpec => {
    const kinds = (['command', 'file', 'http'] as const).filter((k) => m[k] !== undefined);
    if (kinds.length !== 1) {
      const got = kinds.length === 0 ? 'none' : kinds.join(' and ');
      ctx.addIssue({ code: 'custom', message: `expected exactly one of command, file, http (got ${got})` });
      return z.NEVER;
    }
    if (m.path !== undefined && m.http === undefined) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'path is only valid with http' });
      return z.NEVER;
    }
    const every = m.every ?? METRIC_DEFAULTS.every;
    const timeout = m.timeout ?? METRIC_DEFAULTS.timeout;
    if (m.command !== undefined) return { kind: 'command', command: m.command, every, timeout };
    if (m.file !== undefined) return { kind: 'file', file: m.file, every, timeout };
    const spec: MetricSourceSpec = { kind: 'http', http: m.http as string, every, timeout };
    if (m.path !== undefined) spec.path = m.path;
    return spec;
  });

/** A cloud's `agent` block; a retired tunable fails with what to do about it, not as unknown. */
const tunablesSchema = z.preprocess((value, ctx) => {
  if (value === null || typeof value !== 'object') return value;
  for (const key of Object.keys(value)) {
    const why = RETIRED_TUNABLES[key];
    if (why !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: why });
  }
  return value;
}, agentTunablesSchema);

const cloudSchema = z
  .strictObject({
    instances: z.strictObject({ min: z.number().int().min(0), max: count }),
    using: usingSchema,
    metrics: z.record(z.string(), metricSchema).optional(),
    agent: tunablesSchema.prefault({}),
    monitor: z.strictObject({ host: z.string().min(1).optional(), port: port.optional() }).optional(),
    scaling: scalingSchema.prefault({}),
    ...configureFields,
  })
  .transform((c, ctx): CloudDefinition => {
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
    const monitor = { host: c.monitor?.host ?? MONITOR_DEFAULTS.host, port: c.monitor?.port ?? MONITOR_DEFAULTS.port };
    const using = normalizeUsing(c.using, monitor.port, ctx);
    if (using === undefined) return z.NEVER;
    // An ec2 node serves its monitor on the cloud's monitor port, next to p2pPort on the same address.
    const monitorPort = using.provider === 'ec2' ? monitor.port : using.monitorPort;
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
    return {
      instances: { min, max },
      using,
      metrics: c.metrics ?? {},
      agent: c.agent,
      monitor,
      scaling,
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
      return {
        provider: 'local',
        firstAddress: u.firstAddress ?? LOCAL_FIRST_ADDRESS,
        p2pPort: u.p2pPort ?? P2P_DEFAULT_PORT,
        monitorPort: u.monitorPort ?? monitorPort,
      };
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
  name: name('pool name'),
  stateDir: z.string().min(1).optional(),
  clouds: z
    .record(name('cloud name'), cloudSchema)
    .refine((clouds) => Object.keys(clouds).length > 0, { error: 'define at least one cloud' }),
});
