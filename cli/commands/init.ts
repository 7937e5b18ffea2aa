import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type CommandHandler, optionalString, UsageError } from '../command.ts';
import { DEFAULT_CONFIG_FILES } from '../config-file.ts';
import { INIT_PROVIDERS, type InitProvider, poolNameFrom, starterDefinition } from '../init-templates.ts';

export interface InitResult {
  file: string;
  provider: InitProvider;
  pool: string;
}

/**
 * `poolparty init`: a commented starter clouds.ts in the working directory. It never replaces a
 * definition without --force (the file may be hours of someone's work). Options: cli/command-table.ts.
 */
export const run: CommandHandler = async ({ values }) => {
  const provider = (optionalString(values, 'provider') ?? 'local') as InitProvider;
  if (!INIT_PROVIDERS.includes(provider)) {
    throw new UsageError(`init: unknown provider '${provider}' (one of: ${INIT_PROVIDERS.join(', ')})`);
  }
  const cwd = process.cwd();
  const file = join(cwd, DEFAULT_CONFIG_FILES[0] as string);
  const pool = poolNameFrom(basename(cwd));
  try {
    await writeFile(file, starterDefinition(provider, pool), { flag: values.force === true ? 'w' : 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new UsageError(`init: ${file} exists; pass --force to replace it`);
  }
  const result: InitResult = { file, provider, pool };
  return {
    data: result,
    text: `wrote ${file} (pool '${pool}', ${provider} provider)\nnext: poolparty validate, then poolparty plan`,
  };
};
