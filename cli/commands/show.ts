import { resolveCloud } from '../../shared/config/load.ts';
import type { CloudDefinition, PoolDefinition } from '../../shared/config/schema.ts';
import { type CommandHandler, optionalString } from '../command.ts';
import { compileCloud } from '../compile-cloud.ts';
import { openPool } from '../context.ts';

export interface ShowResult {
  pool: string;
  /** The resolved pool (every cloud), or only the cloud named by --cloud. */
  definition: PoolDefinition | CloudDefinition;
  cloud?: string;
  /** The generated Chef recipe (--recipe). */
  recipe?: string;
  /** The generated puppet manifest (--manifest). */
  manifest?: string;
}

/**
 * Prints what the CLI and the agents will actually use: defaults applied, durations in ms,
 * plugins expanded. --recipe / --manifest show the generated configuration code instead, which
 * needs one cloud (the only one, or --cloud). Options and help: cli/command-table.ts.
 */
export const run: CommandHandler = async ({ values }) => {
  const ctx = await openPool(values, 'show');
  const flag = optionalString(values, 'cloud');
  const code = values.recipe === true || values.manifest === true;
  if (!code) {
    const result: ShowResult =
      flag === undefined
        ? { pool: ctx.pool.name, definition: ctx.pool }
        : { pool: ctx.pool.name, cloud: flag, definition: resolveCloud(ctx.pool, flag).cloud };
    return { data: result, text: JSON.stringify(result.definition, null, 2) };
  }
  const { name, cloud } = resolveCloud(ctx.pool, flag);
  const bundle = await compileCloud(ctx, name);
  const result: ShowResult = { pool: ctx.pool.name, cloud: name, definition: cloud };
  const texts: string[] = [];
  if (values.recipe === true) {
    result.recipe = bundle.recipe;
    texts.push(bundle.recipe);
  }
  if (values.manifest === true) {
    result.manifest = bundle.manifest;
    texts.push(bundle.manifest);
  }
  return { data: result, text: texts.map((t) => t.trimEnd()).join('\n\n') };
};
