import type { CommandHandler } from '../command.ts';
import { poolJsonSchema } from '../json-schema.ts';

/**
 * `poolparty schema`: the JSON Schema of a pool definition on stdout, for an editor
 * (`poolparty schema > clouds.schema.json`). It is JSON with or without --json.
 */
export const run: CommandHandler = async () => {
  const schema = poolJsonSchema();
  return { data: schema, text: JSON.stringify(schema, null, 2) };
};
