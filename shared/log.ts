/**
 * A tiny structured logger: one JSON object per line on stdout, e.g.
 * {"time":"2025-01-01T00:00:00.000Z","level":"info","msg":"joined","peerId":"12D3…"}.
 * Fields given to createLogger/child are on every line; per-call fields are merged last.
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
  /** Lines below this level are dropped. Default: env POOLPARTY_LOG_LEVEL, else 'info'. */
  level?: LogLevel;
  /** Where lines go (one call per line, newline included). Default: process.stdout. */
  write?: (line: string) => void;
  /** The clock, injectable for tests. */
  now?: () => Date;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(fields: LogFields = {}, opts: LoggerOptions = {}): Logger {
  const envLevel = process.env.POOLPARTY_LOG_LEVEL as LogLevel | undefined;
  const level: LogLevel = opts.level ?? (envLevel && envLevel in RANK ? envLevel : 'info');
  const write = opts.write ?? ((line: string) => process.stdout.write(line));
  const now = opts.now ?? (() => new Date());
  const min = RANK[level];

  const emit = (lvl: LogLevel, msg: string, extra?: LogFields) => {
    if (RANK[lvl] < min) return;
    const record = { time: now().toISOString(), level: lvl, msg, ...fields, ...extra };
    write(`${safeStringify(record)}\n`);
  };
  return {
    debug: (msg, extra) => emit('debug', msg, extra),
    info: (msg, extra) => emit('info', msg, extra),
    warn: (msg, extra) => emit('warn', msg, extra),
    error: (msg, extra) => emit('error', msg, extra),
    child: (more) => createLogger({ ...fields, ...more }, { level, write, now }),
  };
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
