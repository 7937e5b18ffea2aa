import { POOLPARTY_RECIPE } from '../../shared/bundle/chef.ts';
import type { ResolverName } from '../../shared/config/configure-schema.ts';
import { readBundleManifest } from './bundle-dir.ts';
import { runProcess } from './process.ts';
import type { ApplyOptions, ApplyResult } from './types.ts';

/** How a tool's exit code reads: success, and whether it reports changes. */
export type ExitReading = { ok: true; changed: boolean | null } | { ok: false; error: string };

/** Runs one resolver tool in the bundle directory and reads its exit code into an ApplyResult. */
export async function runTool(
  resolver: ResolverName,
  bin: string,
  args: string[],
  bundleDir: string,
  opts: ApplyOptions,
  read: (code: number) => ExitReading,
): Promise<ApplyResult> {
  const run = await runProcess(bin, args, {
    cwd: bundleDir,
    timeout: opts.timeout,
    env: opts.env,
    onLine: opts.onLog,
  });
  const base = { resolver, exitCode: run.code, timedOut: run.timedOut, durationMs: run.durationMs, tail: run.tail };
  if (run.spawnError) return { ...base, ok: false, changed: null, error: `${bin}: ${run.spawnError}` };
  if (run.timedOut)
    return { ...base, ok: false, changed: null, error: `${resolver} timed out after ${opts.timeout} ms` };
  if (run.code === null) return { ...base, ok: false, changed: null, error: `${resolver} killed by ${run.signal}` };
  const reading = read(run.code);
  return reading.ok
    ? { ...base, ok: true, changed: reading.changed }
    : { ...base, ok: false, changed: null, error: reading.error };
}

/** A failed ApplyResult for errors found before the tool ran. */
export function refused(resolver: ResolverName, error: string): ApplyResult {
  return { resolver, ok: false, changed: null, exitCode: null, timedOut: false, durationMs: 0, error, tail: [] };
}

/**
 * itamae and puppet run only the generated resources: a run list with user cookbooks would be
 * silently half-applied, so it is refused instead. Returns the refusal reason, if any.
 */
export async function onlyGeneratedRecipe(resolver: ResolverName, bundleDir: string): Promise<string | undefined> {
  const manifest = await readBundleManifest(bundleDir);
  const extra = manifest.runList.filter((e) => e !== POOLPARTY_RECIPE);
  if (extra.length === 0) return undefined;
  return `${resolver} runs only the generated resources, but the run list also has ${extra.join(', ')}: use chef-solo`;
}
