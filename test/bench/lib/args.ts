import { type ParseArgsConfig, parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

function parse<const O extends Options>(options: O, args?: string[]) {
  return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } as const }, strict: true })
    .values;
}

/**
 * A bench script's options, as `npm run bench` (run.ts) takes them: node's parseArgs, strict, plus
 * `-h/--help`. --help prints `usage` on stdout and exits 0; an unknown or malformed option prints
 * the error and a pointer to --help on stderr and exits 2. Both before the script does anything.
 */
export function benchArgs<const O extends Options>(
  script: string,
  usage: string,
  options: O,
  args?: string[],
): ReturnType<typeof parse<O>> {
  let values: ReturnType<typeof parse<O>>;
  try {
    values = parse(options, args);
  } catch (err) {
    process.stderr.write(`${script}: ${(err as Error).message} (see --help)\n`);
    process.exit(2);
  }
  if ((values as { help?: boolean }).help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return values;
}
