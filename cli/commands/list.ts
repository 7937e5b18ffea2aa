import type { Command } from '../command.ts';
import { isLive, listInstances, openPool, POOL_OPTIONS } from '../context.ts';
import { instanceTable } from '../render.ts';

export const listCommand: Command = {
  name: 'list',
  summary: "list the pool's instances as the provider reports them",
  usage: '-c FILE [--cloud NAME] [--all] [--json]',
  options: {
    ...POOL_OPTIONS,
    all: { type: 'boolean', description: 'include terminated instances the provider still remembers' },
  },
  async run({ values }) {
    const ctx = await openPool(values, 'list');
    const all = await listInstances(ctx);
    const shown = values.all ? all : all.filter(isLive);
    return { data: shown, text: instanceTable(shown) };
  },
};
