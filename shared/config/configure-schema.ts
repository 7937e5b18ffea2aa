import * as z from 'zod';
import { resourceSchema } from '../resources/schema.ts';
import type { PluginInstance, Resource } from '../resources/types.ts';
import { durationSchema } from './duration-schema.ts';

/**
 * The configuration options of a cloud — resources, resolver, verifiers, hooks, cookbooks,
 * runList, attributes — validated and normalised into a ConfigureDefinition. `configureFields`
 * is meant to be spread into the cloud's strictObject, and `toConfigure` called from the cloud's
 * transform; `configureSchema` validates the same block on its own.
 */

export const RESOLVERS = ['chef-solo', 'itamae', 'puppet'] as const;
export type ResolverName = (typeof RESOLVERS)[number];

export const HOOK_EVENTS = ['beforeConfigure', 'afterConfigure', 'beforeTerminate', 'afterJoin'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];
export type Hooks = Record<HookEvent, HookSpec[]>;

export interface ConfigureDefinition {
  /** Resources in declaration order, plugins expanded in place. */
  resources: Resource[];
  /** Tried in order; the first whose tool is installed applies the bundle. Default ['chef-solo']. */
  resolver: ResolverName[];
  verifiers: VerifierSpec[];
  hooks: Hooks;
  /** Cookbook directories as written (relative to the config file), plugin cookbooks appended. */
  cookbooks: string[];
  /** User run list entries ('recipe[x]'), after the generated recipe[poolparty]. */
  runList: string[];
  /** Node attributes for dna.json (and itamae's node JSON). */
  attributes: Record<string, unknown>;
  /** Names of the plugins used, for summaries. */
  plugins: string[];
}

const durationMs = durationSchema;

/** A hook's timeout (ms or '1m'). Default 60000. */
const hookTimeout = durationMs(1).default(60_000);
/** Default timeout of a hook given without one (ms): the schema's own. */
export const HOOK_TIMEOUT: number = hookTimeout.parse(undefined);

/** A verifier's fields that have a default: its attempts are 1 + retries, `delay` apart. */
const defaulted = {
  /** Extra attempts after the first failure (count). Default 5. */
  retries: z.number().int().min(0).max(100).default(5),
  /** Between attempts (ms or '1s'). Default 2000. */
  delay: durationMs(0).default(2000),
  /** Per attempt (ms or '5s'). Default 5000. */
  timeout: durationMs(1).default(5000),
  /** The HTTP status an http verifier expects. Default 200. */
  status: z.number().int().min(100).max(599).default(200),
};

/** Verifier defaults: the schema's own, parsed from nothing. */
export const VERIFIER_DEFAULTS = Object.freeze(z.strictObject(defaulted).parse({}));

const timing = {
  /** Shown in logs and /stats. Default: the kind and its target, e.g. 'http http://…'. */
  name: z.string().min(1).optional(),
  /** Extra attempts after a failure. Default 5. */
  retries: defaulted.retries,
  /** Between attempts (ms or '2s'). Default '2s'. */
  delay: defaulted.delay,
  /** Per attempt (ms or '5s'). Default '5s'. */
  timeout: defaulted.timeout,
};

/** An HTTP answer, an open TCP port, or a command exiting 0. */
const verifierInput = z.union([
  z.strictObject({
    /** The URL asked (http or https). */
    http: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
    /** The status expected. Default 200. */
    status: defaulted.status,
    /** A substring the body must contain. */
    body: z.string().optional(),
    /** A regular expression the body must match. */
    bodyMatch: z
      .string()
      .refine(
        (s) => {
          try {
            new RegExp(s);
            return true;
          } catch {
            return false;
          }
        },
        { error: 'expected a regular expression' },
      )
      .optional(),
    ...timing,
  }),
  z.strictObject({
    /** 'host:port' that must accept a connection. */
    tcp: z.string().regex(/^[^\s:]+:\d{1,5}$/, { error: "expected 'host:port'" }),
    ...timing,
  }),
  z.strictObject({
    /** A shell command that must exit 0. */
    command: z.string().min(1),
    ...timing,
  }),
]);

export const verifierSchema = verifierInput.transform((v) => {
  const common = { retries: v.retries, delay: v.delay, timeout: v.timeout };
  if ('http' in v) {
    const { http, status, body, bodyMatch } = v;
    return {
      name: v.name ?? `http ${http}`,
      ...common,
      kind: 'http' as const,
      url: http,
      status,
      ...(body !== undefined && { body }),
      ...(bodyMatch !== undefined && { bodyMatch }),
    };
  }
  if ('tcp' in v) {
    const at = v.tcp.lastIndexOf(':');
    const host = v.tcp.slice(0, at);
    const port = Number(v.tcp.slice(at + 1));
    return { name: v.name ?? `tcp ${v.tcp}`, ...common, kind: 'tcp' as const, host, port };
  }
  return { name: v.name ?? `command ${v.command}`, ...common, kind: 'command' as const, command: v.command };
});

/** A verifier, normalised: `kind` and its target, defaults applied, times in ms. */
export type VerifierSpec = z.output<typeof verifierSchema>;

const hookObject = z.strictObject({
  /** A shell command run on the machine; POOLPARTY_HOOK names the event. */
  command: z.string().min(1),
  /** How long it may run (ms or '1m'). Default '60s'. */
  timeout: hookTimeout,
});
export type HookSpec = z.output<typeof hookObject>;

/** A bare command string is `{ command }`. */
export const hookSchema = z
  .union([z.string().min(1), hookObject])
  .transform((h): HookSpec => (typeof h === 'string' ? { command: h, timeout: HOOK_TIMEOUT } : h));
const hookList = z.union([hookSchema.transform((h) => [h]), z.array(hookSchema)]);

const RUN_LIST_ENTRY = /^(recipe|role)\[[A-Za-z0-9_.:-]+\]$|^[A-Za-z0-9_.:-]+$/;

const pluginSchema = z.strictObject({
  kind: z.literal('plugin'),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, { error: 'a plugin name may contain only a-z, 0-9 and -' }),
  resources: z.array(resourceSchema),
  cookbook: z.string().min(1).optional(),
  verifiers: z.array(verifierSchema).optional(),
});

/** Resources as written: resources, plugin results, and arrays of them (plugins may return several). */
export type ResourceInput = Resource | PluginInstance | ResourceInput[];
type ResourceItem = Resource | z.output<typeof pluginSchema>;
const flatten = (value: unknown): unknown => (Array.isArray(value) ? value.flat(Number.POSITIVE_INFINITY) : value);
/**
 * Typed as taking ResourceInput[] (what z.input shows a user) though it takes anything at run
 * time: it flattens, then tells resources from plugins itself to name the item in each error.
 */
const resourcesSchema = z.preprocess(
  flatten,
  z.array(
    z.unknown().transform((item, ctx): ResourceItem => {
      const isPlugin = item !== null && typeof item === 'object' && (item as { kind?: unknown }).kind === 'plugin';
      const result = (isPlugin ? pluginSchema : resourceSchema).safeParse(item);
      if (result.success) return result.data as ResourceItem;
      const where = describe(item);
      for (const issue of result.error.issues)
        ctx.addIssue({ ...issue, message: `${where}: ${issue.message}` } as never);
      return z.NEVER;
    }),
  ),
) as unknown as z.ZodType<ResourceItem[], ResourceInput[]>;

function describe(item: unknown): string {
  const r = item as Partial<Record<'type' | 'path' | 'name' | 'kind', unknown>> | null;
  if (r && r.kind === 'plugin') return `plugin ${String(r.name)}`;
  if (r && typeof r.type === 'string') return `${r.type}[${String(r.path ?? r.name)}]`;
  return 'resource';
}

/** The fields to spread into the cloud's strictObject. */
export const configureFields = {
  /** Resources and plugin results (nested arrays are flattened), applied in dependency order. */
  resources: resourcesSchema.optional(),
  /** One resolver, or a fallback list: the first whose tool is installed applies. Default 'chef-solo'. */
  resolver: z
    .union([z.enum(RESOLVERS).transform((r): ResolverName[] => [r]), z.array(z.enum(RESOLVERS)).min(1)])
    .optional(),
  /** Checked after every apply; a failure stops a rollout. */
  verifiers: z.array(verifierSchema).optional(),
  /** Shell commands run at points of a machine's life: one, or a list run in order. */
  hooks: z
    .strictObject({
      /** Before the resolver applies each bundle. */
      beforeConfigure: hookList.optional(),
      /** After the resolver applied a bundle, before the verifiers. */
      afterConfigure: hookList.optional(),
      /** When the agent retires, before its instance is terminated. */
      beforeTerminate: hookList.optional(),
      /** Once, when the node has its configuration and has met the pool. */
      afterJoin: hookList.optional(),
    })
    .optional(),
  /** Your own Chef cookbook directories (relative to clouds.ts); chef-solo only. */
  cookbooks: z.array(z.string().min(1)).optional(),
  /** Run list entries after the generated recipe, e.g. ['recipe[mycook]']; chef-solo only. */
  runList: z
    .array(
      z.string().regex(RUN_LIST_ENTRY, {
        error: (iss) => `expected 'recipe[name]' or 'role[name]', got ${JSON.stringify(iss.input)}`,
      }),
    )
    .optional(),
  /** Node attributes (dna.json). */
  attributes: z.record(z.string(), z.unknown()).optional(),
};

type ParsedFields = { [K in keyof typeof configureFields]?: z.output<(typeof configureFields)[K]> };

/** Normalises parsed fields: defaults, plugins expanded, bare run list names as recipe[...]. */
export function toConfigure(c: ParsedFields): ConfigureDefinition {
  const resources: Resource[] = [];
  const verifiers: VerifierSpec[] = [...(c.verifiers ?? [])];
  const cookbooks = [...(c.cookbooks ?? [])];
  const runList = (c.runList ?? []).map((e) => (e.includes('[') ? e : `recipe[${e}]`));
  const plugins: string[] = [];
  for (const item of c.resources ?? []) {
    if ('kind' in item) {
      const plugin = item as PluginInstance & { verifiers?: VerifierSpec[] };
      plugins.push(plugin.name);
      resources.push(...plugin.resources);
      verifiers.push(...(plugin.verifiers ?? []));
      if (plugin.cookbook) {
        cookbooks.push(plugin.cookbook);
        const recipe = `recipe[${plugin.cookbook.replace(/\/+$/, '').split('/').pop()}]`;
        if (!runList.includes(recipe)) runList.push(recipe);
      }
    } else resources.push(item);
  }
  const hooks = Object.fromEntries(HOOK_EVENTS.map((e) => [e, c.hooks?.[e] ?? []])) as Hooks;
  return {
    resources,
    resolver: [...new Set<ResolverName>(c.resolver ?? ['chef-solo'])],
    verifiers,
    hooks,
    cookbooks,
    runList,
    attributes: c.attributes ?? {},
    plugins: [...new Set(plugins)],
  };
}

/** The configure block on its own, e.g. for tests or a standalone file. */
export const configureSchema = z.strictObject(configureFields).transform(toConfigure);
