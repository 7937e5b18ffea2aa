import { VERSION } from '../shared/version.ts';
import { type CommandIO, commandHelp, parseCommandLine, UsageError } from './command.ts';
import { COMMANDS } from './command-table.ts';
import { COMPILE_ERRORS } from './compile-errors.ts';

/** Exit codes. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Errors that mean "you asked wrongly" rather than "it did not work". */
const USAGE_ERRORS = new Set(['UsageError', 'ConfigError', 'Ec2OptionsError', ...COMPILE_ERRORS]);

export function topLevelHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `poolparty ${VERSION} — self-managing pools of machines`,
    '',
    'Usage: poolparty <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --help and --json. Exit codes: 0 ok, 1 failure, 2 usage or config error.',
    '',
    'Options:',
    '  -h, --help     show this help',
    '  -v, --version  print the version',
  ].join('\n');
}

/** Runs one command line and returns the exit code; errors are one line on stderr, never a stack. */
export async function run(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(topLevelHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    io.out(VERSION);
    return EXIT.ok;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  // Only our own flags: `ssh -- cmd --json` passes --json on to the remote command.
  const dd = rest.indexOf('--');
  const json = (dd < 0 ? rest : rest.slice(0, dd)).includes('--json');
  try {
    if (!cmd) throw new UsageError(`unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    const { values, positionals, rest: passed } = parseCommandLine(cmd, rest);
    if (values.help) {
      io.out(commandHelp(cmd));
      return EXIT.ok;
    }
    const { run: handler } = await cmd.load();
    const result = await handler({ values, json: values.json === true, io, positionals, rest: passed });
    if (result && (values.json || result.text !== undefined)) {
      io.out(values.json ? JSON.stringify(result.data, null, 2) : (result.text ?? ''));
    }
    return result?.exitCode ?? EXIT.ok;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const message = e.message.replace(/\s*\n\s*/g, ' ');
    // A config with several problems lists one per indented line (each a path and what is wrong);
    // anything else is one line, whatever newlines its message carried.
    const listed = e.name === 'ConfigError' && /\n {2}\S/.test(e.message);
    io.progress(`poolparty: ${listed ? e.message : message}`);
    if (json) io.out(JSON.stringify({ error: { name: e.name, message } }));
    return USAGE_ERRORS.has(e.name) ? EXIT.usage : EXIT.failure;
  }
}
