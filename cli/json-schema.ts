import * as z from 'zod';
import { metricSchema } from '../shared/config/metric-schema.ts';
import { poolSchema } from '../shared/config/schema.ts';

/**
 * The JSON Schema of a pool definition as written (zod's input side of shared/config/schema.ts),
 * for editors: `"$schema"` in a clouds.json, or yaml-language-server. zod cannot see through the
 * parts that parse themselves (a duration is `z.unknown()` turned into ms by code; a custom
 * metric picks its kind by key), and would leave each as {}, accepting anything: those are
 * described here by hand, the rest is generated.
 */
export function poolJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(poolSchema, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      if (ctx.zodSchema === (metricSchema as unknown)) Object.assign(ctx.jsonSchema, METRIC);
      else if (isCodeParsed(ctx.zodSchema) && !ctx.path.includes('resources')) Object.assign(ctx.jsonSchema, DURATION);
    },
  }) as Record<string, unknown>;
}

/** `z.unknown().transform(…)`: outside `resources` and the metrics, only durations are built so. */
function isCodeParsed(schema: unknown): boolean {
  const def = (schema as { _zod?: { def?: { type?: string; in?: { _zod?: { def?: { type?: string } } } } } })._zod?.def;
  return def?.type === 'pipe' && def.in?._zod?.def?.type === 'unknown';
}

/** shared/duration.ts: milliseconds, or a number with ms, s, m or h. */
const DURATION = {
  description: "a duration: milliseconds, or e.g. '500ms', '5s', '2m', '1h'",
  anyOf: [
    { type: 'number', minimum: 0 },
    { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h)\\s*$' },
  ],
};

/** shared/config/metric-schema.ts: exactly one of command, file, http, and its timing and counter flag. */
const timing = {
  every: DURATION,
  timeout: DURATION,
  counter: { type: 'boolean', description: 'a counter: rules read its per-second rate' },
};
const source = (key: string, fields: Record<string, unknown>) => ({
  type: 'object',
  properties: { ...fields, ...timing },
  required: [key],
  additionalProperties: false,
});
const METRIC = {
  description: 'a custom metric: exactly one of command, file or http, sampled every `every`',
  oneOf: [
    source('command', {
      command: { type: 'string', minLength: 1, description: 'a shell command that prints a number' },
    }),
    source('file', {
      file: {
        type: 'string',
        minLength: 1,
        description: "a file holding a number (relative: to the pool's state dir)",
      },
    }),
    source('http', {
      http: { type: 'string', pattern: '^https?://', description: 'an HTTP(S) endpoint answering JSON' },
      path: { type: 'string', minLength: 1, description: "dotted path into the JSON body, e.g. 'queue.depth'" },
    }),
  ],
};
