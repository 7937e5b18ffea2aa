import { fstatSync } from 'node:fs';

/**
 * The one logger of the agent and the CLI: one JSON object per line, e.g.
 * {"time":"2025-01-01T00:00:00.000Z","level":"info","msg":"joined","peerId":"12D3…"}.
 * Fields given to createLogger/child are on every line; per-call fields are merged last.
 *
 * When stdout is the journal (an agent under systemd), each line starts with its syslog priority,
 * `<7>` debug, `<6>` info, `<4>` warn, `<3>` error: journald reads and strips it
 * (SyslogLevelPrefix=, on by default), so `journalctl -p warning` filters the agent's lines.
 *
 * Hand-written rather than pino: pino and its twelve dependencies add about 8 MB of RSS to a bare
 * node process (42 → 50 MB measured), paid by every agent — and a host runs many in a local pool —
 * for features (transports, redaction) no caller here uses.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
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
  /** Where lines go (one call per line, newline included). Default: process.stdout. */
  write?: (line: string) => void;
  /** The clock, injectable for tests. */
  now?: () => Date;
  /** Prefix lines with `<N>` for journald. Default: when writing to stdout and stdout is the journal. */
  journald?: boolean;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** syslog priorities (sd-daemon.h): debug 7, info 6, warning 4, err 3. */
const PRIORITY: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

export function createLogger(fields: LogFields = {}, opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? levelFromEnv(process.env);
  const write = opts.write ?? ((line: string) => process.stdout.write(line));
  const now = opts.now ?? (() => new Date());
  const journald = opts.journald ?? (opts.write === undefined && isJournalStream(1));
  const min = RANK[level];

  const emit = (lvl: LogLevel, msg: string, extra?: LogFields) => {
    if (RANK[lvl] < min) return;
    const record = { time: now().toISOString(), level: lvl, msg, ...fields, ...extra };
    write(`${journald ? `<${PRIORITY[lvl]}>` : ''}${safeStringify(record)}\n`);
  };
  return {
    debug: (msg, extra) => emit('debug', msg, extra),
    info: (msg, extra) => emit('info', msg, extra),
    warn: (msg, extra) => emit('warn', msg, extra),
    error: (msg, extra) => emit('error', msg, extra),
    child: (more) => createLogger({ ...fields, ...more }, { level, write, now, journald }),
  };
}

function levelFromEnv(env: NodeJS.ProcessEnv): LogLevel {
  const named = env.POOLPARTY_LOG_LEVEL;
  if (named !== undefined && named in RANK) return named as LogLevel;
  return env.POOLPARTY_DEBUG === '1' ? 'debug' : 'info';
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

/** Errors become {name, message} (never a stack); bigints become strings; cycles are cut. */
function safeStringify(record: LogFields): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(record, (_key, value: unknown) => {
    if (value instanceof Error) return { name: value.name, message: value.message };
    if (typeof value === 'bigint') return value.toString();
    if (value !== null && typeof value === 'object') {
      if (seen.has(value)) return '[circular]';
      seen.add(value);
    }
    return value;
  });
}
