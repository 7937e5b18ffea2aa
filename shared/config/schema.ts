import * as z from 'zod';
import { SCALING_DEFAULTS, type ScalingConfig } from '../scaling/config.ts';
import { parseRule, RuleSyntaxError } from '../scaling/rule.ts';
import { BUILTIN_METRICS, type MetricSourceSpec } from '../wire/metrics.ts';
import { type ConfigureDefinition, configureFields, toConfigure } from './configure-schema.ts';
import { durationSchema } from './duration-schema.ts';
import { type Ec2UsingDefinition, ec2UsingSchema } from './ec2-schema.ts';
import { normalizeSshUsing, SshConfigError, type SshUsingDefinition, sshUsingSchema } from './ssh-schema.ts';
import { type AgentTunables, defaultTunables, MONITOR_DEFAULTS, P2P_DEFAULT_PORT } from './tunables.ts';

/**
 * Validation of clouds.ts and its normalised form. The input types live in shared/define.ts;
 * the schema turns input into a PoolDefinition: defaults applied, durations in ms, tunables
 * merged over the defaults, metrics resolved to MetricSourceSpec.
 */

/** Defaults of a custom metric's timing (ms). */
export const METRIC_DEFAULTS = { every: 5000, timeout: 2000 } as const;
/** Default timeout of a `beforeTerminate` hook given without one (ms). */
export const BEFORE_TERMINATE_TIMEOUT = 30_000;
/** Shortest rule evaluation interval (ms): a tighter loop only burns CPU on every node. */
export const MIN_SCALING_INTERVAL = 100;
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

const tunablesSchema = z.strictObject({
  heartbeatInterval: duration(1).optional(),
  suspectAfter: duration(1).optional(),
  deadAfter: duration(1).optional(),
  loadInterval: duration(1).optional(),
  replaceAfter: duration(1).optional(),
  rings: count.optional(),
  reapAfter: duration().optional(),
  sampleInterval: duration(1).optional(),
  stallThreshold: duration(1).optional(),
  maxConnections: count.optional(),
  minConnections: z.number().int().min(0).optional(),
  maxMessageBytes: z.number().int().min(256).optional(),
  leaveGrace: duration().optional(),
});

const ruleText = z.string().min(1).nullable().optional();

/** The scaling block as written; rules are checked in the cloud's transform, which knows its metrics. */
const scalingSchema = z
  .strictObject({
    expandWhen: ruleText,
    contractWhen: ruleText,
    expandBy: count.optional(),
    contractBy: count.optional(),
    cooldown: z.strictObject({ expand: duration().optional(), contract: duration().optional() }).optional(),
    minimumRuntime: duration().optional(),
    victim: z.enum(['least-loaded', 'newest', 'oldest']).optional(),
    joinTimeout: duration(1).optional(),
    interval: duration(MIN_SCALING_INTERVAL).optional(),
    drainTimeout: duration().optional(),
    intentTimeout: duration(1).optional(),
    deadGrace: duration().optional(),
    beforeTerminate: z.strictObject({ command: z.string().min(1), timeout: duration(1).optional() }).optional(),
  })
  .transform((s): ScalingConfig => {
    const d = SCALING_DEFAULTS;
    return {
      expandWhen: s.expandWhen ?? d.expandWhen,
      contractWhen: s.contractWhen ?? d.contractWhen,
      expandBy: s.expandBy ?? d.expandBy,
      contractBy: s.contractBy ?? d.contractBy,
      cooldown: {
        expand: s.cooldown?.expand ?? d.cooldown.expand,
        contract: s.cooldown?.contract ?? d.cooldown.contract,
      },
      minimumRuntime: s.minimumRuntime ?? d.minimumRuntime,
      victim: s.victim ?? d.victim,
      joinTimeout: s.joinTimeout ?? d.joinTimeout,
      interval: s.interval ?? d.interval,
      drainTimeout: s.drainTimeout ?? d.drainTimeout,
      intentTimeout: s.intentTimeout ?? d.intentTimeout,
      deadGrace: s.deadGrace ?? d.deadGrace,
      beforeTerminate: s.beforeTerminate
        ? { command: s.beforeTerminate.command, timeout: s.beforeTerminate.timeout ?? BEFORE_TERMINATE_TIMEOUT }
        : d.beforeTerminate,
    };
  });

/** A copy of the defaults: each cloud owns its object, nothing shares SCALING_DEFAULTS. */
function defaultScaling(): ScalingConfig {
  return structuredClone(SCALING_DEFAULTS);
}

const cloudSchema = z
  .strictObject({
    instances: z.strictObject({ min: z.number().int().min(0), max: count }),
    using: usingSchema,
    metrics: z.record(z.string(), metricSchema).optional(),
    agent: tunablesSchema.optional(),
    monitor: z.strictObject({ host: z.string().min(1).optional(), port: port.optional() }).optional(),
    scaling: scalingSchema.optional(),
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
    const given = Object.fromEntries(Object.entries(c.agent ?? {}).filter(([, v]) => v !== undefined));
    const agent: AgentTunables = { ...defaultTunables(c.agent?.heartbeatInterval), ...given };
    if (agent.suspectAfter >= agent.deadAfter) {
      ctx.addIssue({
        code: 'custom',
        path: ['agent'],
        message: `suspectAfter (${agent.suspectAfter}ms) must be less than deadAfter (${agent.deadAfter}ms)`,
      });
    }
    if (agent.minConnections > agent.maxConnections) {
      ctx.addIssue({
        code: 'custom',
        path: ['agent'],
        message: `minConnections (${agent.minConnections}) is greater than maxConnections (${agent.maxConnections})`,
      });
    }
    const monitor = { host: c.monitor?.host ?? MONITOR_DEFAULTS.host, port: c.monitor?.port ?? MONITOR_DEFAULTS.port };
    const using = normalizeUsing(c.using, monitor.port, ctx);
    if (using === undefined) return z.NEVER;
    // An ec2 node serves its monitor on the cloud's monitor port, next to p2pPort on the same address.
    const monitorPort = using.provider === 'ec2' ? monitor.port : using.monitorPort;
    if (using.p2pPort === monitorPort) {
      ctx.addIssue({ code: 'custom', path: ['using'], message: `p2pPort and monitorPort are both ${using.p2pPort}` });
    }
    const scaling = c.scaling ?? defaultScaling();
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
      agent,
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

/**
 * Error map for parsing: short messages in the form used by ConfigError
 * ("expected a number, got string"). Returns undefined to keep zod's message.
 */
export function describeIssue(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'required';
      return `expected ${article(String(iss.expected))}, got ${typeOf(iss.input)}`;
    case 'unrecognized_keys': {
      const keys = (iss.keys as string[]).map((k) => `'${k}'`).join(', ');
      return `unknown key${(iss.keys as string[]).length > 1 ? 's' : ''} ${keys}`;
    }
    case 'invalid_union':
      if (iss.discriminator !== undefined) {
        const options = (iss.options as unknown[]).map((o) => `'${String(o)}'`).join(', ');
        const value = (iss.input as Record<string, unknown> | undefined)?.[String(iss.discriminator)];
        return `unknown ${String(iss.discriminator)} ${JSON.stringify(value)} (expected ${options})`;
      }
      return undefined;
    case 'invalid_value':
      return `expected ${(iss.values as unknown[]).map((v) => JSON.stringify(v)).join(' or ')}, got ${JSON.stringify(iss.input)}`;
    case 'too_small':
      if (iss.origin === 'string') return `must not be empty`;
      return `must be at least ${String(iss.minimum)}, got ${JSON.stringify(iss.input)}`;
    case 'too_big':
      if (iss.origin === 'string') return `must be at most ${String(iss.maximum)} characters`;
      return `must be at most ${String(iss.maximum)}, got ${JSON.stringify(iss.input)}`;
    default:
      return undefined;
  }
}

function article(expected: string): string {
  const word = expected === 'int' ? 'integer' : expected;
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isInteger(value)) return String(value);
  return typeof value;
}
