/**
 * What clouds.ts and plugins import: typed constructors, definePlugin and the types. Kept free
 * of zod (shared/index.ts re-exports this on every config load); compilation lives in
 * compile.ts, used by the bundle builder.
 */

export type { ConfigureInput, HookInput, ResolverInput, VerifierInput } from './configure-input.ts';
export { cron, directory, exec, file, group, link, pkg, refOf, service, template, user } from './constructors.ts';
export { definePlugin, type Plugin, type PluginDefinition, type PluginOutput } from './plugin.ts';
export type * from './types.ts';
