import type { ResolverName } from '../../shared/config/configure-schema.ts';
import { readBundleManifest, readHooks, readVerifiers } from './bundle-dir.ts';
import { type HookResult, runHooks } from './hooks.ts';
import type { LogStream } from './process.ts';
import { createResolver, type ResolverOptions, selectResolver } from './select.ts';
import type { ApplyResult, Resolver } from './types.ts';
import { runVerifiers, type VerifierResult, type VerifyOptions } from './verifiers.ts';

/**
 * Applies one unpacked bundle on this node: beforeConfigure hooks → the first available
 * resolver → afterConfigure hooks → verifiers. Stops at the first failing stage and says which;
 * never throws for a failure of the machine's configuration (only for a missing bundle file).
 */

export type ConfigureStage = 'beforeConfigure' | 'resolver' | 'afterConfigure' | 'verify' | 'done';

export interface ConfigureLogEntry {
  /** 'hook', a resolver name, or 'verifier'. */
  source: string;
  stream: LogStream;
  line: string;
}

export interface ConfigureOptions {
  /** An unpacked bundle (see unpackBundle). */
  bundleDir: string;
  /** Resolver run timeout (ms). */
  timeout: number;
  onLog?: (entry: ConfigureLogEntry) => void;
  /** Override the cloud's resolver list (default: bundle.json's `resolver`). */
  resolvers?: readonly Resolver[];
  /** Per-tool options when resolvers are created from bundle.json. */
  resolverOptions?: ResolverOptions;
  env?: NodeJS.ProcessEnv;
  verify?: VerifyOptions;
}

export interface ConfigureReport {
  ok: boolean;
  /** Where it stopped: 'done' on success. */
  stage: ConfigureStage;
  resolver: ResolverName | null;
  durationMs: number;
  hooks: { beforeConfigure: HookResult[]; afterConfigure: HookResult[] };
  apply: ApplyResult | null;
  verifiers: VerifierResult[];
  /** One line, set when !ok. */
  error?: string;
}

export async function configureNode(opts: ConfigureOptions): Promise<ConfigureReport> {
  const started = Date.now();
  const manifest = await readBundleManifest(opts.bundleDir);
  const hooks = await readHooks(opts.bundleDir);
  const verifierSpecs = await readVerifiers(opts.bundleDir);
  const log = (source: string) => (line: string, stream: LogStream) => opts.onLog?.({ source, stream, line });
  const report: ConfigureReport = {
    ok: false,
    stage: 'beforeConfigure',
    resolver: null,
    durationMs: 0,
    hooks: { beforeConfigure: [], afterConfigure: [] },
    apply: null,
    verifiers: [],
  };
  const stop = (stage: ConfigureStage, error?: string): ConfigureReport => {
    report.stage = stage;
    report.ok = stage === 'done';
    report.durationMs = Date.now() - started;
    if (error !== undefined) report.error = error;
    return report;
  };
  const hookOpts = { onLog: log('hook'), env: opts.env, cwd: opts.bundleDir };

  const before = await runHooks(hooks, 'beforeConfigure', hookOpts);
  report.hooks.beforeConfigure = before.results;
  if (!before.ok) return stop('beforeConfigure', `beforeConfigure hook failed: ${lastError(before.results)}`);

  const candidates =
    opts.resolvers ?? manifest.resolver.map((n) => createResolver(n as ResolverName, opts.resolverOptions));
  let resolver: Resolver;
  try {
    resolver = await selectResolver(candidates);
  } catch (err) {
    return stop('resolver', (err as Error).message);
  }
  report.resolver = resolver.name;
  report.apply = await resolver.apply(opts.bundleDir, {
    timeout: opts.timeout,
    onLog: log(resolver.name),
    env: opts.env,
  });
  if (!report.apply.ok) return stop('resolver', report.apply.error);

  const after = await runHooks(hooks, 'afterConfigure', hookOpts);
  report.hooks.afterConfigure = after.results;
  if (!after.ok) return stop('afterConfigure', `afterConfigure hook failed: ${lastError(after.results)}`);

  report.verifiers = await runVerifiers(verifierSpecs, {
    onRetry: (name, attempt, error) =>
      opts.onLog?.({ source: 'verifier', stream: 'stderr', line: `${name}: attempt ${attempt} failed: ${error}` }),
    ...opts.verify,
  });
  const failed = report.verifiers.filter((v) => !v.ok);
  if (failed.length > 0)
    return stop('verify', `verifier failed: ${failed.map((v) => `${v.name} (${v.error})`).join(', ')}`);
  return stop('done');
}

function lastError(results: HookResult[]): string {
  const last = results.at(-1);
  return last ? `${last.command}: ${last.error ?? 'failed'}` : 'failed';
}
