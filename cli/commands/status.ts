import type { ClusterView } from '../../shared/wire/cluster.ts';
import { type Command, OperationError, optionalString, UsageError } from '../command.ts';
import { isLive, listInstances, openPool, POOL_OPTIONS } from '../context.ts';
import { fetchCluster } from '../monitor-client.ts';
import { clusterTable } from '../render.ts';

export const statusCommand: Command = {
  name: 'status',
  summary: "show the pool's members as a node sees them (GET /cluster)",
  usage: '(-c FILE | --node URL) [--json]',
  options: {
    ...POOL_OPTIONS,
    node: { type: 'string', placeholder: 'URL', description: 'ask this monitor, e.g. http://127.0.0.2:8642' },
  },
  async run({ values }) {
    const node = optionalString(values, 'node');
    let view: ClusterView;
    if (node !== undefined) {
      if (!/^https?:\/\//.test(node)) throw new UsageError(`status: --node must be an http(s) URL, got '${node}'`);
      view = await fetchCluster(node);
    } else {
      if (optionalString(values, 'config') === undefined) throw new UsageError('status: give -c FILE or --node URL');
      const ctx = await openPool(values, 'status');
      const live = (await listInstances(ctx)).filter((i) => isLive(i) && i.monitor);
      if (live.length === 0) throw new OperationError(`pool ${ctx.pool.name} has no running instances`);
      const errors: string[] = [];
      let found: ClusterView | undefined;
      for (const inst of live) {
        try {
          found = await fetchCluster(inst.monitor as string);
          break;
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
      if (!found) throw new OperationError(`no node of pool ${ctx.pool.name} answers: ${errors.join('; ')}`);
      view = found;
    }
    return { data: view, text: clusterTable(view) };
  },
};
