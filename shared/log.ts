import { fstatSync } from 'node:fs';
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';
import { isoTime } from './iso-time.ts';
import { type LogSink, nonBlockingSink } from './log-stdout.ts';

/**
 * The one logger of the agent and the CLI, a thin layer over pino: one JSON object per line, e.g.
 * {"level":"info","time":"2025-01-01T00:00:00.000Z","peerId":"12D3…","msg":"joined"}.
 * Fields given to createLogger/child are on every line; per-call fields come after them (and win
 * when JSON.parse meets a key twice).
 *
 * Lines are written at once (no transport, no worker thread): tests kill agents with SIGKILL and
 * the line that explains why an agent stopped must be on disk when it dies. A reader that is full
 * (a pipe, the journal's socket) queues them instead of stopping the process (log-stdout.ts).
 *
 * When stdout is the journal (an agent under systemd), each line starts with its syslog priority,
 * `<7>` trace and debug, `<6>` info, `<4>` warn, `<3>` error, `<2>` fatal. journald's stdout
 * stream reads and strips that prefix (sd-daemon.h's SD_ERR etc.; SyslogLevelPrefix=, on by
 * default), so `journalctl -p warning` filters the agent's lines. A PRIORITY field inside the JSON
 * would do nothing: journald stores a stream line as MESSAGE without parsing it; only its native
 * protocol (sd_journal_send on /run/systemd/journal/socket) takes fields.
 */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /**
   * Lines below this level are dropped. Default: env POOLPARTY_LOG_LEVEL, else 'debug' when
   * POOLPARTY_DEBUG=1, else 'info'.
   */
  level?: LogLevel;
  /** Where lines go (one call per line, newline included). Default: stdout, written synchronously. */
  write?: (line: string) => void;
  /** The clock, injectable for tests. */
  now?: () => Date;
  /** Prefix lines with `<N>` for journald. Default: when writing to stdout and stdout is the journal. */
  journald?: boolean;
}

/** pino's level numbers (10 trace … 60 fatal) as syslog priorities (sd-daemon.h). */
const PRIORITY: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };

export function createLogger(fields: LogFields = {}, opts: LoggerOptions = {}): Logger {
  const journald = opts.journald ?? (opts.write === undefined && isJournalStream(1));
  const env = opts.level === undefined ? levelFromEnv(process.env) : { level: opts.level };
  const out: DestinationStream = opts.write ? { write: opts.write } : stdout();
  const now = opts.now ?? (() => new Date());
  const root = pino(
    {
      level: env.level,
      base: null,
      timestamp: () => `,"time":"${isoTime(now())}"`,
      formatters: {
        level: (label) => ({ level: label }),
        log: (o) => plain(o) as LogFields,
      },
      // plain() has already made errors {name, message}: pino's own err serializer would add a stack.
      serializers: { err: (e: unknown) => e },
    },
    journald ? withPriority(out) : out,
  );
  if (env.invalid !== undefined && !warned.has(env.invalid)) {
    warned.add(env.invalid);
    root.warn(
      `POOLPARTY_LOG_LEVEL ${JSON.stringify(env.invalid)} is not one of ${LOG_LEVELS.join('|')}: logging at info`,
    );
  }
  return wrap(Object.keys(fields).length > 0 ? childOf(root, fields) : root);
}

function wrap(p: PinoLogger): Logger {
  return {
    debug: (msg, extra) => p.debug(extra ?? {}, msg),
    info: (msg, extra) => p.info(extra ?? {}, msg),
    warn: (msg, extra) => p.warn(extra ?? {}, msg),
    error: (msg, extra) => p.error(extra ?? {}, msg),
    child: (more) => wrap(childOf(p, more)),
  };
}

/** pino formats a child's fields once, at creation, with no formatter of ours: plain() them here. */
function childOf(p: PinoLogger, fields: LogFields): PinoLogger {
  return p.child(plain(fields) as LogFields);
}

/** Bad values already warned about: once per process, not once per logger. */
const warned = new Set<string>();

/** The level the environment asks for, and the value it gave if that was no level. */
export function levelFromEnv(env: NodeJS.ProcessEnv): { level: LogLevel; invalid?: string } {
  const named = env.POOLPARTY_LOG_LEVEL?.trim().toLowerCase();
  if (named && (LOG_LEVELS as readonly string[]).includes(named)) return { level: named as LogLevel };
  const level = env.POOLPARTY_DEBUG === '1' ? 'debug' : 'info';
  return named ? { level: 'info', invalid: env.POOLPARTY_LOG_LEVEL as string } : { level };
}

let stdoutSink: LogSink | undefined;

/** One writer on fd 1 for every logger of the process; what it still holds is handed over at exit. */
function stdout(): DestinationStream {
  if (!stdoutSink) {
    // fd 1 comes blocking from systemd (the journal's socket) and from spawn's pipes, and then a full
    // reader holds write(2) in the kernel, where no queue can help. Node's process.stdout opens a
    // pipe or socket non-blocking (fdinfo flags 02000002 → 02004002, measured on Node 20); files
    // are not affected.
    void process.stdout;
    const sink = nonBlockingSink(1);
    process.once('exit', () => sink.flushSync());
    stdoutSink = sink;
  }
  return stdoutSink;
}

/**
 * A stream that puts the line's syslog priority in front of it. pino sets `lastLevel` on a stream
 * that asks for it (Symbol.for('pino.metadata')) just before each write.
 */
function withPriority(out: DestinationStream): DestinationStream {
  const stream = {
    [Symbol.for('pino.metadata')]: true,
    lastLevel: 30,
    write: (line: string) => out.write(`<${PRIORITY[stream.lastLevel] ?? 6}>${line}`),
  };
  return stream;
}

/**
 * Whether `fd` is the stream systemd connected to the journal: JOURNAL_STREAM holds its
 * "device:inode", and only a match counts — a child that inherited the variable but writes to a
 * file or a pipe must not prefix its lines (systemd.exec(5), $JOURNAL_STREAM).
 */
export function isJournalStream(fd: number, env: NodeJS.ProcessEnv = process.env): boolean {
  const stream = env.JOURNAL_STREAM;
  if (!stream) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return stream === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

/**
 * A log field as JSON can carry it: errors become {name, message} (a stack belongs in a bug
 * report, not in every line), bigints become strings; cycles are cut. Plain objects and arrays
 * are copied only when something inside them changes; other objects are left to JSON.stringify.
 */
function plain(value: unknown, seen = new WeakSet<object>()): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  const out = Array.isArray(value) ? plainArray(value, seen) : plainObject(value, seen);
  // Only a path back to itself is a cycle: the same object twice side by side is printed twice.
  seen.delete(value);
  return out;
}

function plainArray(value: unknown[], seen: WeakSet<object>): unknown[] {
  const items = value.map((v) => plain(v, seen));
  return items.some((v, i) => v !== value[i]) ? items : value;
}

function plainObject(value: object, seen: WeakSet<object>): object {
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const p = plain(v, seen);
    if (p !== v) {
      copy ??= { ...value };
      copy[k] = p;
    }
  }
  return copy ?? value;
}
