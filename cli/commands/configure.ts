import { join } from 'node:path';
import pRetry from 'p-retry';
import { writeBundle } from '../../shared/bundle/index.ts';
import { resolveCloud } from '../../shared/config/load.ts';
import { poolKeyFile } from '../../shared/config/resolve.ts';
import { parseDuration } from '../../shared/duration.ts';
import type { ClusterView } from '../../shared/wire/cluster.ts';
import { NotLeaderError, pushBundle } from '../bundle-push.ts';
import { type CommandHandler, OperationError, type OptionValues, optionalString, UsageError } from '../command.ts';
import { compileCloud } from '../compile-cloud.ts';
import { isLive, openPool, type PoolContext } from '../context.ts';
import { fetchCluster } from '../monitor-client.ts';
import { DIRECT, type PoolReach } from '../pool-reach.ts';
import { timed } from '../progress.ts';
import { followRollout, type NodeBundle } from '../rollout.ts';

export interface ConfigureResult {
  sha256: string;
  /** The bundle as written locally, `<stateDir>/bundles/<sha256>.tar.gz`. */
  path: string;
  leader: { peerId: string; instanceId: string };
  nodes: Pick<NodeBundle, 'instanceId' | 'applied' | 'state' | 'error'>[];
}

/** How long configure waits for a leader to be elected before pushing (ms). */
const LEADER_WAIT = 30_000;

function positiveInt(values: OptionValues, name: string): number | undefined {
  const raw = optionalString(values, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`configure: --${name} must be a positive integer, got '${raw}'`);
  return n;
}

function duration(values: OptionValues, name: string, fallback: string): number {
  const raw = optionalString(values, name) ?? fallback;
  try {
    return parseDuration(/^\d+$/.test(raw) ? `${raw}s` : raw);
  } catch (err) {
    throw new UsageError(`configure: --${name}: ${(err as Error).message}`);
  }
}

/** The cloud's monitors that answer, and the leader as the first of them sees it (waiting for one). */
export async function findLeader(
  monitors: string[],
  reach: PoolReach,
  deadline: number,
  command = 'configure',
): Promise<{ view: ClusterView; peerId: string; instanceId: string; addrs: string[] }> {
  try {
    return await pRetry(() => askForLeader(monitors, reach), {
      // Every monitor asked once per round, rounds 500 ms apart until the deadline.
      retries: Number.POSITIVE_INFINITY,
      factor: 1,
      minTimeout: 500,
      maxTimeout: 500,
      shouldRetry: () => Date.now() < deadline,
    });
  } catch (err) {
    throw new OperationError(`${command}: cannot find the pool's leader: ${(err as Error).message}`);
  }
}

/** One round: the first monitor that answers and knows an alive leader; else why none did. */
async function askForLeader(
  monitors: string[],
  reach: PoolReach,
): Promise<{ view: ClusterView; peerId: string; instanceId: string; addrs: string[] }> {
  let last = 'no node answers';
  for (const m of monitors) {
    let view: ClusterView;
    try {
      view = await fetchCluster(await reach.monitor(m), 2000);
    } catch (err) {
      last = (err as Error).message;
      continue;
    }
    const leader = view.members.find((x) => x.peerId === view.leader?.peerId && x.state === 'alive');
    if (leader) return { view, peerId: leader.peerId, instanceId: leader.instanceId, addrs: leader.addrs };
    last = `${m} knows no leader yet`;
  }
  throw new Error(last);
}

export interface ConfigureOptions {
  cloud?: string;
  maxUnavailable?: number;
  timeoutMs: number;
  progress(line: string): void;
  /**
   * Reach the pool through one node of the (ssh) cloud instead of directly: its monitor, the
   * leader's libp2p listener and every monitor the rollout reads go through SSH tunnels.
   */
  viaSsh?: { instance?: string; acceptNewHostKey?: boolean };
}

/** The cloud's monitors as its instances record them; the pool reached as it is. */
async function directEntry(ctx: PoolContext, cloud: string): Promise<{ reach: PoolReach; monitors: string[] }> {
  const instances = (await ctx.remoter(cloud).list({ pool: ctx.pool.name, cloud })).filter(isLive);
  const monitors = instances.flatMap((i) => (i.monitor ? [i.monitor] : []));
  if (monitors.length === 0)
    throw new OperationError(`configure: cloud ${cloud} of pool ${ctx.pool.name} has no running instance`);
  return { reach: DIRECT, monitors };
}

/**
 * Compiles the cloud's bundle, pushes it to the leader (the CLI joins the pool as a short-lived
 * peer holding the pool key) and follows the rolling update node by node.
 */
export async function configurePool(ctx: PoolContext, opts: ConfigureOptions): Promise<ConfigureResult> {
  const { name } = resolveCloud(ctx.pool, opts.cloud);
  const bundle = await compileCloud(ctx, opts.cloud);
  const path = await writeBundle(bundle, join(ctx.stateDir, 'bundles'));
  opts.progress(`compiled bundle ${bundle.sha256} (${bundle.bytes.length} bytes)`);
  // The SSH tunnels (and ssh2) load only with --via-ssh.
  const entry = opts.viaSsh
    ? await (await import('../via-ssh.ts')).openViaSsh(ctx, {
        cloud: name,
        ...opts.viaSsh,
        progress: opts.progress,
        command: 'configure --via-ssh',
      })
    : await directEntry(ctx, name);
  try {
    return await rollOut(ctx, opts, { ...entry, cloud: name, bundle, path });
  } finally {
    await entry.reach.close();
  }
}

async function rollOut(
  ctx: PoolContext,
  opts: ConfigureOptions,
  on: { reach: PoolReach; monitors: string[]; cloud: string; bundle: { sha256: string; bytes: Buffer }; path: string },
): Promise<ConfigureResult> {
  const { reach, monitors, bundle, path, cloud: name } = on;
  const deadline = Date.now() + opts.timeoutMs;
  const leaderDeadline = Math.min(deadline, Date.now() + LEADER_WAIT);
  // A monitor's view of the leader can lag an election (a young pool, a leader that just left):
  // a peer that says it does not lead is asked about again until the views settle.
  let asked = '';
  const { leader, pushedTo } = await pRetry(
    async () => {
      const leader = await findLeader(monitors, reach, leaderDeadline);
      asked = leader.instanceId;
      opts.progress(`pushing to the leader ${leader.instanceId} (${leader.peerId})`);
      const pushedTo = await pushBundle({
        poolKeyFile: poolKeyFile(ctx.stateDir),
        leaderPeerId: leader.peerId,
        leaderAddrs: await reach.p2p(leader.addrs),
        bytes: bundle.bytes,
        cloud: name,
        ...(opts.maxUnavailable !== undefined ? { maxUnavailable: opts.maxUnavailable } : {}),
      });
      return { leader, pushedTo };
    },
    {
      retries: Number.POSITIVE_INFINITY,
      factor: 1,
      minTimeout: 1000,
      maxTimeout: 1000,
      shouldRetry: ({ error }) => {
        if (!(error instanceof NotLeaderError) || Date.now() >= leaderDeadline) return false;
        opts.progress(`${asked} no longer leads; asking the pool again`);
        return true;
      },
    },
  );
  if (reach.via) opts.progress(`bundle handed to the leader at ${pushedTo} (SSH tunnel via ${reach.via})`);
  opts.progress(
    `rolling out ${bundle.sha256.slice(0, 12)}${opts.maxUnavailable ? `, at most ${opts.maxUnavailable} node(s) at a time` : ''}`,
  );
  const nodes = await followRollout({
    sha: bundle.sha256,
    monitors: [...new Set([leader.view.members.find((m) => m.peerId === leader.peerId)?.monitor, ...monitors])].filter(
      (m): m is string => m !== undefined,
    ),
    timeoutMs: Math.max(0, deadline - Date.now()),
    pollMs: 300,
    cloud: name,
    via: (m) => reach.monitor(m),
    progress: opts.progress,
  });
  opts.progress(`${nodes.length}/${nodes.length} nodes applied ${bundle.sha256.slice(0, 12)}`);
  return {
    sha256: bundle.sha256,
    path,
    leader: { peerId: leader.peerId, instanceId: leader.instanceId },
    nodes: nodes.map(({ instanceId, applied, state, error }) => ({ instanceId, applied, state, error })),
  };
}

/** `poolparty configure`; its options and help are in cli/command-table.ts. */
export const run: CommandHandler = async ({ values, io, positionals }) => {
  const maxUnavailable = positiveInt(values, 'max-unavailable');
  const timeoutMs = duration(values, 'timeout', '10m');
  const viaSsh = values['via-ssh'] === true;
  const acceptNewHostKey = values['accept-new-host-key'] === true;
  if (!viaSsh && positionals[0] !== undefined)
    throw new UsageError(`configure: unexpected argument '${positionals[0]}' (INSTANCE goes with --via-ssh)`);
  if (!viaSsh && acceptNewHostKey) throw new UsageError('configure: --accept-new-host-key only applies with --via-ssh');
  const t = timed('configure', io);
  const ctx = await openPool(values, 'configure', t.io);
  const result = await t.run(
    () =>
      configurePool(ctx, {
        cloud: optionalString(values, 'cloud'),
        ...(maxUnavailable !== undefined ? { maxUnavailable } : {}),
        timeoutMs,
        progress: t.io.progress,
        ...(viaSsh
          ? { viaSsh: { acceptNewHostKey, ...(positionals[0] !== undefined ? { instance: positionals[0] } : {}) } }
          : {}),
      }),
    (r) => `bundle ${r.sha256.slice(0, 12)} applied on ${r.nodes.length} node${r.nodes.length === 1 ? '' : 's'}`,
  );
  const width = Math.max(...result.nodes.map((n) => n.instanceId.length));
  const text = [
    `bundle ${result.sha256} applied on every node (leader ${result.leader.instanceId})`,
    ...result.nodes.map((n) => `  ${n.instanceId.padEnd(width)}  ${n.state}`),
  ].join('\n');
  return { data: result, text };
};
