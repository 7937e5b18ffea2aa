import { spawn } from 'node:child_process';

/**
 * Runs a command in its own process group, streaming its output line by line. On timeout the
 * whole group gets SIGTERM, then SIGKILL after a grace period: a resolver's children (package
 * managers, service scripts) must not outlive the run that started them. Never throws.
 */

export type LogStream = 'stdout' | 'stderr';
export type LogSink = (line: string, stream: LogStream) => void;

export interface RunOptions {
  /** ms; the process group is killed after this. */
  timeout: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  onLine?: LogSink;
  /** Between SIGTERM and SIGKILL on timeout (ms). Default 2000. */
  killGrace?: number;
}

export interface RunResult {
  /** Exit code; null when killed by a signal or never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
  /** The last lines of output (both streams), for reports. */
  tail: string[];
  /** Set when the process could not be started (e.g. ENOENT). */
  spawnError?: string;
}

const TAIL_LINES = 20;
/** Longer lines are cut: one runaway line must not hold the agent's memory. */
const MAX_LINE = 8192;

export function runProcess(command: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const tail: string[] = [];
  const emit = (line: string, stream: LogStream) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    opts.onLine?.(line, stream);
  };
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const flushers = (['stdout', 'stderr'] as const).map((stream) => lines(child[stream], stream, emit));
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // The group is already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), opts.killGrace ?? 2000);
    }, opts.timeout);
    let done = false;
    const finish = (result: Omit<RunResult, 'durationMs' | 'tail' | 'timedOut'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      for (const flush of flushers) flush();
      resolve({ ...result, timedOut, durationMs: Date.now() - started, tail });
    };
    child.on('error', (err) => finish({ code: null, signal: null, spawnError: err.message }));
    child.on('exit', (code, signal) => {
      // A daemon started by the run may keep our pipes open: give output a moment, then stop waiting.
      const grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish({ code, signal });
      }, 1000);
      child.on('close', () => {
        clearTimeout(grace);
        finish({ code, signal });
      });
    });
  });
}

/** Splits a stream into lines; returns a function flushing a last unterminated line. */
function lines(stream: NodeJS.ReadableStream, name: LogStream, emit: LogSink): () => void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    partial += chunk;
    let nl = partial.indexOf('\n');
    while (nl !== -1) {
      emit(partial.slice(0, Math.min(nl, MAX_LINE)).replace(/\r$/, ''), name);
      partial = partial.slice(nl + 1);
      nl = partial.indexOf('\n');
    }
    if (partial.length > MAX_LINE) {
      emit(partial.slice(0, MAX_LINE), name);
      partial = '';
    }
  });
  return () => {
    if (partial !== '') emit(partial, name);
    partial = '';
  };
}
