import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type OptionValues, optionalString, UsageError } from './command.ts';

/** Files looked for in the working directory when neither -c nor POOLPARTY_CONFIG names one. */
export const DEFAULT_CONFIG_FILES = ['clouds.ts', 'clouds.mjs', 'clouds.js', 'clouds.json'];

/**
 * The pool definition a command reads: `-c FILE`, else `$POOLPARTY_CONFIG`, else the first of
 * DEFAULT_CONFIG_FILES in the working directory — the explicit choice over the implicit one, as
 * with KUBECONFIG. A usage error names all three places when none gives a file.
 */
export function configFile(values: OptionValues, cmd: string, env = process.env, cwd = process.cwd()): string {
  const given = optionalString(values, 'config');
  if (given !== undefined) return given;
  if (env.POOLPARTY_CONFIG) return env.POOLPARTY_CONFIG;
  const found = DEFAULT_CONFIG_FILES.map((f) => join(cwd, f)).find((f) => existsSync(f));
  if (found) return found;
  throw new UsageError(
    `${cmd}: no pool definition: give -c FILE, set POOLPARTY_CONFIG, or run it in a directory with ${DEFAULT_CONFIG_FILES[0]} (${resolve(cwd)} has none)`,
  );
}
