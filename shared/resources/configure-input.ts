import type * as z from 'zod';
import type { configureSchema, hookSchema, ResolverName, verifierSchema } from '../config/configure-schema.ts';

/**
 * What a cloud may write in clouds.ts to configure its machines: the input types of the schema
 * in shared/config/configure-schema.ts, where each field is documented with its default. Only
 * types are imported, so define.ts can extend CloudInput with them without loading zod.
 */

/** 'chef-solo' (default), 'itamae' or 'puppet'. */
export type ResolverInput = ResolverName;

/** An HTTP answer (status default 200; `body` substring or `bodyMatch` regex), an open TCP port, or a command exiting 0. */
export type VerifierInput = z.input<typeof verifierSchema>;

/** A shell command, or one with its own timeout (default '60s'). */
export type HookInput = z.input<typeof hookSchema>;

export type { ResourceInput } from '../config/configure-schema.ts';

/** The configure fields of a cloud (resources, resolver, verifiers, hooks, cookbooks, runList, attributes). */
export type ConfigureInput = z.input<typeof configureSchema>;
