import type { Duration } from '../duration.ts';
import type { PluginInstance, Resource } from './types.ts';

/**
 * What a cloud may write in clouds.ts to configure its machines (validated by
 * shared/config/configure-schema.ts). Zod-free so define.ts can extend CloudInput with it.
 */

/** 'chef-solo' (default), 'itamae' or 'puppet'. */
export type ResolverInput = 'chef-solo' | 'itamae' | 'puppet';

interface VerifierTiming {
  /** Shown in results; default derived from the check, e.g. 'http http://127.0.0.1/'. */
  name?: string;
  /** Extra attempts after a failure. Default 5. */
  retries?: number;
  /** Between attempts. Default '2s'. */
  delay?: Duration;
  /** Per attempt. Default '5s'. */
  timeout?: Duration;
}

/** An HTTP answer (status default 200; `body` substring or `bodyMatch` regex), an open TCP port, or a command exiting 0. */
export type VerifierInput =
  | ({ http: string; status?: number; body?: string; bodyMatch?: string } & VerifierTiming)
  | ({ tcp: string } & VerifierTiming)
  | ({ command: string } & VerifierTiming);

/** A shell command, or one with its own timeout (default '60s'). */
export type HookInput = string | { command: string; timeout?: Duration };

type ResourceInput = Resource | PluginInstance | ResourceInput[];

export interface ConfigureInput {
  /** Resources and plugin results (nested arrays are flattened), applied in dependency order. */
  resources?: ResourceInput[];
  /** One resolver, or a fallback list: the first whose tool is installed applies. Default 'chef-solo'. */
  resolver?: ResolverInput | ResolverInput[];
  /** Checked after every apply; a failure stops a rollout. */
  verifiers?: VerifierInput[];
  hooks?: {
    beforeConfigure?: HookInput | HookInput[];
    afterConfigure?: HookInput | HookInput[];
    beforeTerminate?: HookInput | HookInput[];
    afterJoin?: HookInput | HookInput[];
  };
  /** Your own Chef cookbook directories (relative to clouds.ts); chef-solo only. */
  cookbooks?: string[];
  /** Run list entries after the generated recipe, e.g. ['recipe[mycook]']; chef-solo only. */
  runList?: string[];
  /** Node attributes (dna.json). */
  attributes?: Record<string, unknown>;
}
