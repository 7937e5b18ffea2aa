import type { HookEvent, HookSpec, Hooks } from '../../shared/config/configure-schema.ts';
import { type LogSink, runProcess } from './process.ts';

/**
 * Hooks: shell commands run at beforeConfigure, afterConfigure, beforeTerminate and afterJoin,
 * each with its own timeout (the process group is killed when it expires). The commands of one
 * event run in order and stop at the first failure — a failed `beforeConfigure` means "do not
 * configure now".
 */

export interface HookResult {
  command: string;
  ok: boolean;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  error?: string;
  tail: string[];
}

export interface HookRunOptions {
  onLog?: LogSink;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export async function runHooks(
  hooks: Partial<Hooks>,
  event: HookEvent,
  opts: HookRunOptions = {},
): Promise<{ ok: boolean; results: HookResult[] }> {
  const results: HookResult[] = [];
  for (const hook of hooks[event] ?? []) {
    const result = await runHook(hook, { ...opts, env: { ...(opts.env ?? process.env), POOLPARTY_HOOK: event } });
    results.push(result);
    if (!result.ok) return { ok: false, results };
  }
  return { ok: true, results };
}

export async function runHook(hook: HookSpec, opts: HookRunOptions = {}): Promise<HookResult> {
  const run = await runProcess('sh', ['-c', hook.command], {
    timeout: hook.timeout,
    cwd: opts.cwd,
    env: opts.env,
    onLine: opts.onLog,
  });
  const base = {
    command: hook.command,
    exitCode: run.code,
    timedOut: run.timedOut,
    durationMs: run.durationMs,
    tail: run.tail,
  };
  if (run.spawnError) return { ...base, ok: false, error: run.spawnError };
  if (run.timedOut) return { ...base, ok: false, error: `timed out after ${hook.timeout} ms` };
  if (run.code !== 0) return { ...base, ok: false, error: `exited with ${run.code ?? run.signal}` };
  return { ...base, ok: true };
}
