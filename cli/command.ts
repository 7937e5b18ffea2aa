import { parseArgs } from 'node:util';

/**
 * A command is data: name, summary, options and a handler loaded on demand. The tree is built in
 * one place (cli/command-table.ts); parsing, --help and --json handling live here so every
 * command behaves alike.
 */

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Shown in --help after the flag, e.g. FILE. */
  placeholder?: string;
  description: string;
}

export type OptionValues = Record<string, string | boolean | undefined>;

/** What a command may do to the outside world; tests and main supply it. */
export interface CommandIO {
  /** Human output (without --json) and the JSON result go here. */
  out(text: string): void;
  /** Progress lines, as they happen. */
  progress(text: string): void;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

export interface CommandContext {
  values: OptionValues;
  json: boolean;
  io: CommandIO;
  /** Operands before `--` (only for commands with `positionals`). */
  positionals: string[];
  /** Everything after the first `--`, untouched (only for commands with `passThrough`). */
  rest: string[];
}

/** `data` is printed as JSON with --json; `text` otherwise. */
export interface CommandResult {
  data: unknown;
  /** Printed without --json; undefined prints nothing (e.g. an interactive session already ran). */
  text?: string;
  /** Exit code when the command succeeded as a command but passes on another's code (e.g. ssh). */
  exitCode?: number;
}

/** What a command is, as data: all that parsing and --help need, without its handler. */
export interface CommandSpec {
  name: string;
  summary: string;
  /** Synopsis after the command name, e.g. '-c FILE [--yes]'. */
  usage: string;
  /** More help text shown under the options. */
  details?: string;
  options: Record<string, OptionSpec>;
  /** Accepts operands, e.g. `ssh [INSTANCE]`; at most this many. */
  positionals?: number;
  /** Takes everything after `--` as is, e.g. a remote command. */
  passThrough?: boolean;
}

export type CommandHandler = (ctx: CommandContext) => Promise<CommandResult | undefined>;

export interface Command extends CommandSpec {
  /** Imports the handler's module when the command runs, so no other command's dependencies load. */
  load(): Promise<{ run: CommandHandler }>;
}

/** Bad command line: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The flags every command understands. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print the result as JSON on stdout (progress stays on stderr)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** Options and operands before the first `--`; what follows it is `rest`, for passThrough commands. */
export function parseCommandLine(
  cmd: CommandSpec,
  args: string[],
): { values: OptionValues; positionals: string[]; rest: string[] } {
  const options = { ...cmd.options, ...COMMON_OPTIONS };
  const split = cmd.passThrough ? args.indexOf('--') : -1;
  const own = split < 0 ? args : args.slice(0, split);
  const rest = split < 0 ? [] : args.slice(split + 1);
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({
      args: own,
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [
          name,
          o.short ? { type: o.type, short: o.short } : { type: o.type },
        ]),
      ),
      strict: true,
      allowPositionals: (cmd.positionals ?? 0) > 0,
    }) as { values: OptionValues; positionals: string[] };
  } catch (err) {
    // parseArgs explains at length how to pass positionals; the first sentence is the point.
    const first = (err as Error).message.split(/\. |\n/)[0] ?? String(err);
    throw new UsageError(`${cmd.name}: ${first.replace(/\.$/, '')} (see poolparty ${cmd.name} --help)`);
  }
  if (parsed.positionals.length > (cmd.positionals ?? 0)) {
    throw new UsageError(
      `${cmd.name}: unexpected argument '${parsed.positionals[cmd.positionals ?? 0]}' (see poolparty ${cmd.name} --help)`,
    );
  }
  return { values: parsed.values, positionals: parsed.positionals, rest };
}

export function commandHelp(cmd: CommandSpec): string {
  const options = { ...cmd.options, ...COMMON_OPTIONS };
  const flags = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.placeholder ? ` ${o.placeholder}` : ''}`;
    return [flag, o.description] as const;
  });
  const width = Math.max(...flags.map(([f]) => f.length));
  const lines = [
    `poolparty ${cmd.name} — ${cmd.summary}`,
    '',
    `Usage: poolparty ${cmd.name} ${cmd.usage}`.trimEnd(),
    '',
    'Options:',
    ...flags.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`),
  ];
  if (cmd.details) lines.push('', cmd.details);
  return lines.join('\n');
}

export function requireString(values: OptionValues, name: string, cmd: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`${cmd}: --${name} is required`);
  return value;
}

export function optionalString(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** The command could not do its job (a node unreachable, a launch failed): exit code 1. */
export class OperationError extends Error {
  override name = 'OperationError';
}
