import { resolveCloud } from '../../shared/config/load.ts';
import { poolKeyFile } from '../../shared/config/resolve.ts';
import { parseDuration } from '../../shared/duration.ts';
import { ensurePoolKey } from '../../shared/pool-key.ts';
import type { InstanceRecord } from '../../shared/remoter/types.ts';
import type { ClusterView } from '../../shared/wire/cluster.ts';
import { type Command, type CommandIO, type OptionValues, optionalString, UsageError } from '../command.ts';
import { isLive, openPool, POOL_OPTIONS, type PoolContext } from '../context.ts';
import { waitForConvergence } from '../converge.ts';
import { clusterTable } from '../render.ts';

export interface BootstrapResult {
  pool: string;
  cloud: string;
  stateDir: string;
  poolKey: { file: string; created: boolean };
  launched: InstanceRecord[];
  /** Every running instance of the pool after bootstrap. */
  instances: InstanceRecord[];
  monitors: string[];
  /** The cluster as the first node sees it (null when the pool has no instance). */
  cluster: ClusterView | null;
}

export const BOOTSTRAP_TIMEOUT_OPTION = {
  type: 'string',
  placeholder: 'DURATION',
  description: 'how long to wait for the nodes to see each other (default 60s)',
} as const;

export function timeoutOption(values: OptionValues): number {
  const raw = optionalString(values, 'timeout') ?? '60s';
  try {
    return parseDuration(/^\d+$/.test(raw) ? `${raw}s` : raw);
  } catch (err) {
    throw new UsageError(`--timeout: ${(err as Error).message}`);
  }
}

/**
 * Ensures the pool key, launches up to `min` instances of the cloud (idempotent: the client token
 * is derived from how many already run), then waits until every node sees every node alive.
 */
export async function bootstrapPool(
  ctx: PoolContext,
  cloudFlag: string | undefined,
  timeoutMs: number,
  io: CommandIO,
  signal?: AbortSignal,
): Promise<BootstrapResult> {
  const { name: cloudName, cloud } = resolveCloud(ctx.pool, cloudFlag);
  const keyFile = poolKeyFile(ctx.stateDir);
  const { created } = await ensurePoolKey(keyFile);
  if (created) io.progress(`created pool key ${keyFile}`);

  const remoter = ctx.remoter(cloudName);
  const running = (await remoter.list({ pool: ctx.pool.name, cloud: cloudName })).filter(isLive);
  const need = cloud.instances.min - running.length;
  let launched: InstanceRecord[] = [];
  if (need > 0) {
    io.progress(`launching ${need} instance${need > 1 ? 's' : ''} in cloud ${cloudName} (${running.length} running)`);
    launched = await remoter.launch({
      cloud: cloudName,
      count: need,
      clientToken: `bootstrap-${ctx.pool.name}-${cloudName}-${running.length}`,
    });
    for (const i of launched)
      io.progress(`launched ${i.id} at ${i.privateIp ?? i.publicIp ?? '?'} (monitor ${i.monitor})`);
  } else {
    io.progress(`${running.length} instances of cloud ${cloudName} already running (min ${cloud.instances.min})`);
  }

  // Gossip is pool-wide: every node must see the instances of every cloud of the pool.
  const listAll = async () => {
    const all: InstanceRecord[] = [];
    for (const name of Object.keys(ctx.pool.clouds)) {
      all.push(...(await ctx.remoter(name).list({ pool: ctx.pool.name, cloud: name })));
    }
    return all;
  };
  const live = (await listAll()).filter(isLive);
  let views = new Map<string, ClusterView>();
  if (live.length > 0) {
    io.progress(`waiting for ${live.length} nodes to see each other (timeout ${timeoutMs / 1000}s)`);
    views = await waitForConvergence({ list: listAll, timeoutMs, pollMs: 250, progress: io.progress, signal });
    io.progress(`pool ${ctx.pool.name} is up: ${live.length}/${live.length} alive everywhere`);
  }
  const instances = (await listAll()).filter(isLive);
  const result: BootstrapResult = {
    pool: ctx.pool.name,
    cloud: cloudName,
    stateDir: ctx.stateDir,
    poolKey: { file: keyFile, created },
    launched,
    instances,
    monitors: instances.map((i) => i.monitor).filter((m): m is string => m !== undefined),
    cluster: views.values().next().value ?? null,
  };
  return result;
}

export function bootstrapText(r: BootstrapResult): string {
  if (r.instances.length === 0) return `pool ${r.pool} has no instances (min is 0)`;
  const lines = r.cluster ? [clusterTable(r.cluster), ''] : [];
  lines.push('monitors:', ...r.instances.map((i) => `  ${i.id.padEnd(10)} ${i.monitor ?? '-'}`));
  return lines.join('\n');
}

export const bootstrapCommand: Command = {
  name: 'bootstrap',
  summary: 'start a pool: create its key, launch `min` instances and wait until they see each other',
  usage: '-c FILE [--cloud NAME] [--state-dir DIR] [--timeout 60s] [--json]',
  details: 'Idempotent: instances already running count towards min, and a repeated bootstrap launches nothing.',
  options: { ...POOL_OPTIONS, timeout: BOOTSTRAP_TIMEOUT_OPTION },
  async run({ values, io }) {
    const timeoutMs = timeoutOption(values);
    const ctx = await openPool(values, 'bootstrap');
    const result = await bootstrapPool(ctx, optionalString(values, 'cloud'), timeoutMs, io);
    return { data: result, text: bootstrapText(result) };
  },
};
