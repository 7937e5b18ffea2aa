import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { parseRule } from '../shared/scaling/rule.ts';
import type { AgentConfig } from '../shared/wire/agent-config.ts';

export class AgentConfigError extends Error {
  override name = 'AgentConfigError';
}

const ms = z.number().int().nonnegative();
const positive = z.number().int().positive();

const metricSource = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('command'), command: z.string().min(1), every: positive, timeout: positive }),
  z.object({ kind: z.literal('file'), file: z.string().min(1), every: positive, timeout: positive }),
  z.object({
    kind: z.literal('http'),
    http: z.string().url(),
    path: z.string().optional(),
    every: positive,
    timeout: positive,
  }),
]);

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, { error: 'expected a sha256 hex digest' });

const bundle = z.strictObject({
  sha256,
  sftp: z
    .strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535),
      user: z.string().min(1),
      keyFile: z.string().min(1),
      dir: z.string().min(1),
      knownHostsFile: z.string().min(1).optional(),
      hostKey: z
        .string()
        .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, { error: 'expected a SHA256:… fingerprint' })
        .optional(),
    })
    .refine((s) => s.knownHostsFile !== undefined || s.hostKey !== undefined, {
      error: 'needs knownHostsFile or hostKey: a node never trusts an unknown host key',
    })
    .optional(),
});

const schema = z.strictObject({
  pool: z.string().min(1),
  cloud: z.string().min(1),
  instanceId: z.string().min(1),
  dataDir: z.string().min(1),
  poolKeyFile: z.string().min(1),
  listen: z.array(z.string().startsWith('/')).min(1),
  bootstrap: z.array(z.string().startsWith('/')),
  monitor: z.strictObject({ host: z.string().min(1), port: z.number().int().min(0).max(65535), url: z.string() }),
  tunables: z.strictObject({
    heartbeatInterval: positive,
    suspectAfter: positive,
    deadAfter: positive,
    loadInterval: positive.default(2000),
    replaceAfter: positive.default(300_000),
    rings: positive.default(3),
    reapAfter: ms,
    sampleInterval: positive,
    stallThreshold: ms,
    maxConnections: positive,
    minConnections: z.number().int().nonnegative(),
    maxMessageBytes: positive,
    leaveGrace: ms,
    applyTimeout: positive,
    maxBundleBytes: positive,
    maxUnavailable: positive,
  }),
  bundle: bundle.optional(),
  metrics: z.record(z.string(), metricSource),
  scaling: z
    .strictObject({
      min: z.number().int().nonnegative(),
      max: positive,
      config: z.looseObject({
        expandWhen: z.string().nullable(),
        contractWhen: z.string().nullable(),
        expandBy: positive,
        contractBy: positive,
        cooldown: z.strictObject({ expand: ms, contract: ms }),
        minimumRuntime: ms,
        victim: z.enum(['least-loaded', 'newest', 'oldest']),
        joinTimeout: positive,
        interval: positive,
        drainTimeout: ms,
        intentTimeout: ms,
        deadGrace: ms,
        beforeTerminate: z.strictObject({ command: z.string().min(1), timeout: positive }).nullable(),
      }),
      // Validated by the CLI when it loaded clouds.ts; carried through for the remoter base.
      definition: z.looseObject({ name: z.string(), clouds: z.record(z.string(), z.unknown()) }),
      stateDir: z.string().min(1),
    })
    .optional(),
});

/** Validates an agent config object; the error names the first bad field in one line. */
export function parseAgentConfig(value: unknown, source = 'agent config'): AgentConfig {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path.join('.') || '(root)';
    throw new AgentConfigError(`${source}: ${path}: ${issue?.message ?? 'invalid'}`);
  }
  if (r.data.tunables.suspectAfter >= r.data.tunables.deadAfter) {
    throw new AgentConfigError(`${source}: tunables.suspectAfter must be less than tunables.deadAfter`);
  }
  const scaling = r.data.scaling;
  if (scaling && scaling.min > scaling.max) {
    throw new AgentConfigError(`${source}: scaling.min (${scaling.min}) is greater than scaling.max (${scaling.max})`);
  }
  for (const key of ['expandWhen', 'contractWhen'] as const) {
    const text = scaling?.config[key];
    if (!text) continue;
    try {
      parseRule(text);
    } catch (err) {
      throw new AgentConfigError(`${source}: scaling.config.${key}: ${(err as Error).message}`);
    }
  }
  return r.data as AgentConfig;
}

export async function readAgentConfig(file: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new AgentConfigError(
      `cannot read agent config ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AgentConfigError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return parseAgentConfig(value, file);
}
