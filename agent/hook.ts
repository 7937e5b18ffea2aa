import { spawn } from 'node:child_process';

export interface HookResult {
  ok: boolean;
  code: number | null;
  durationMs: number;
  /** Last lines of output, for the log. */
  output: string;
  error?: string;
}

/**
 * Runs a configured hook command (`sh -c`) with a timeout; the whole process group is killed on
 * timeout so nothing lingers. Never throws: a failing hook is reported, and the caller decides.
 */
export function runHook(command: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<HookResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let output = '';
    const child = spawn('sh', ['-c', command], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-2000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, code: null, durationMs: Date.now() - started, output, error: err.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const durationMs = Date.now() - started;
      if (timedOut) resolve({ ok: false, code, durationMs, output, error: `timed out after ${timeoutMs} ms` });
      else
        resolve({ ok: code === 0, code, durationMs, output, ...(code === 0 ? {} : { error: `exited with ${code}` }) });
    });
  });
}
