import type { CommandHandler } from '../command.ts';
import { isLive, listInstances, openPool } from '../context.ts';
import { instanceTable } from '../render.ts';

/** `poolparty list`; its options and help are in cli/command-table.ts. */
export const run: CommandHandler = async ({ values }) => {
  const ctx = await openPool(values, 'list');
  const all = await listInstances(ctx);
  const shown = values.all ? all : all.filter(isLive);
  return { data: shown, text: instanceTable(shown) };
};
