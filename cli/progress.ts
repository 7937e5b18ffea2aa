import { colourWanted, type Paint, paint as palette } from './colour.ts';
import type { CommandIO } from './command.ts';

/**
 * Progress of a long command (bootstrap, configure, terminate): every line carries the time since
 * the command began, so a person sees where the minutes went, and the command ends with one
 * summary line (or the time it failed after: the error itself is printed by the CLI).
 *
 *   [  0.0s] launching 3 instances in cloud web (0 running)
 *   [ 41.7s] pool demo is up: 3/3 alive everywhere
 *   [ 41.7s] bootstrap done: 3 launched, 3 running
 */
export interface TimedOptions {
  /** Epoch ms; injectable for tests. */
  now?: () => number;
  /** Default: colour when stderr (where progress goes) is a terminal that wants it. */
  paint?: Paint;
}

export interface Timed {
  /** `io` whose progress lines carry the elapsed time: hand it to everything the command runs. */
  io: CommandIO;
  /** Runs the command's work and ends with its summary line, or the time it failed after. */
  run<T>(body: () => Promise<T>, summary: (result: T) => string): Promise<T>;
}

/** Starts the clock of `command`; a usage error before run() prints no summary, only itself. */
export function timed(command: string, io: CommandIO, opts: TimedOptions = {}): Timed {
  const now = opts.now ?? Date.now;
  const p = opts.paint ?? palette(colourWanted(process.stderr));
  const started = now();
  const line = (text: string) => io.progress(`${p.dim(`[${elapsed(now() - started).padStart(6)}]`)} ${text}`);
  return {
    io: { ...io, progress: line },
    async run(body, summary) {
      let result: Awaited<ReturnType<typeof body>>;
      try {
        result = await body();
      } catch (err) {
        line(p.red(`${command} failed`));
        throw err;
      }
      line(p.green(`${command} done: ${summary(result)}`));
      return result;
    },
  };
}

/** 0.4s, 12.3s, 2m05s, 1h03m: a tenth of a second while that still means something. */
export function elapsed(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
