/** Applying a bundle on a node: resolvers, hooks, verifiers, and configureNode tying them together. */
export { CHEF_INSTALL_HINT, type ChefSoloOptions, chefSoloResolver } from './chef-solo.ts';
export {
  type ConfigureLogEntry,
  type ConfigureOptions,
  type ConfigureReport,
  type ConfigureStage,
  configureNode,
} from './configure.ts';
export { type HookResult, type HookRunOptions, runHook, runHooks } from './hooks.ts';
export { ITAMAE_INSTALL_HINT, type ItamaeOptions, itamaeResolver } from './itamae.ts';
export { type LogSink, type LogStream, type RunOptions, type RunResult, runProcess } from './process.ts';
export { PUPPET_INSTALL_HINT, type PuppetOptions, puppetResolver } from './puppet.ts';
export { createResolver, type ResolverOptions, selectResolver } from './select.ts';
export { type ApplyOptions, type ApplyResult, NoResolverError, type Resolver } from './types.ts';
export { runVerifier, runVerifiers, type VerifierResult, type VerifyOptions } from './verifiers.ts';
