import { createHash } from 'node:crypto';
import { resolveCloud } from '../../shared/config/load.ts';
import { poolKeyFile } from '../../shared/config/resolve.ts';
import { parseDuration } from '../../shared/duration.ts';
import { ensurePoolKey } from '../../shared/pool-key.ts';
import type { InstanceRecord } from '../../shared/remoter/types.ts';
import type { ClusterView } from '../../shared/wire/cluster.ts';
import { artifactDir, ensureArtifact } from '../artifact.ts';
import { type CloudInstance, waitedInstances } from '../bootstrap-waited.ts';
import {
  type CommandHandler,
  type CommandIO,
  OperationError,
  type OptionValues,
  optionalString,
  UsageError,
} from '../command.ts';
import { isLive, openPool, type PoolContext } from '../context.ts';
import { waitForConvergence } from '../converge.ts';
import type { Ec2Provisioned } from '../ec2-provision.ts';
import { timed } from '../progress.ts';
import { clusterTable } from '../render.ts';
import { explainSshFailure } from '../ssh-progress.ts';
import { sweep, terminateHint } from './terminate.ts';

export interface BootstrapResult {
  pool: string;
  cloud: string;
  stateDir: string;
  poolKey: { file: string; created: boolean };
  launched: InstanceRecord[];
  /** ec2 clouds with an `ssh` section: the instances provisioned over SSH by this run. */
  provisioned?: Ec2Provisioned[];
  /** Every running instance of the pool after bootstrap. */
  instances: InstanceRecord[];
  monitors: string[];
  /** The cluster as the first node sees it (null when the pool has no instance, or with --no-wait). */
  cluster: ClusterView | null;
  /** False with --no-wait: the instances were launched, nobody checked that they see each other. */
  waited: boolean;
}

export interface BootstrapOptions {
  timeoutMs: number;
  /** Wait until every node sees every node alive (default true). */
  wait?: boolean;
  signal?: AbortSignal;
  /** ec2 clouds with `ssh`: replace an instance's host key that changed. */
  acceptNewHostKey?: boolean;
}

export function timeoutOption(values: OptionValues): number {
  const raw = optionalString(values, 'timeout') ?? '60s';
  try {
    return parseDuration(/^\d+$/.test(raw) ? `${raw}s` : raw);
  } catch (err) {
    throw new UsageError(`--timeout: ${(err as Error).message}`);
  }
}

/** EC2 allows client tokens of at most 64 characters; long pool and cloud names are hashed. */
const MAX_TOKEN = 64;

/** The client token of the bootstrap launch that finds `running` instances: a rerun reuses it. */
export function bootstrapToken(pool: string, cloud: string, running: number): string {
  const plain = `bootstrap-${pool}-${cloud}-${running}`;
  if (plain.length <= MAX_TOKEN) return plain;
  const digest = createHash('sha256').update(`${pool}\0${cloud}`).digest('hex').slice(0, 32);
  return `bootstrap-${digest}-${running}`;
}

/**
 * Ensures the pool key, launches up to `min` instances of the cloud (idempotent: the client token
 * is derived from how many already run), then, unless told not to, waits until every node sees
 * every node alive.
 *
 * A provider other than local gives new instances their bootstrap peers from what it lists, so
 * into an empty pool it launches one instance first and the rest once that one is listed: they
 * all start knowing its address, instead of each starting alone and electing itself.
 */
export async function bootstrapPool(
  ctx: PoolContext,
  cloudFlag: string | undefined,
  opts: BootstrapOptions,
  io: CommandIO,
): Promise<BootstrapResult> {
  const { name: cloudName, cloud } = resolveCloud(ctx.pool, cloudFlag);
  // Said where the cloud is made, not only in each agent's log: nothing else tells the operator.
  if (cloud.using.provider === 'ec2' && !cloud.using.identityCertificate)
    io.progress(
      `cloud ${cloudName}: members are not checked against their instances (no identityCertificate): ` +
        'any holder of the pool key can claim an instance id first; set using.identityCertificate ' +
        "to the region's RSA certificate for instance identity documents (docs/ec2.md)",
    );
  const keyFile = poolKeyFile(ctx.stateDir);
  const { created } = await ensurePoolKey(keyFile);
  if (created) io.progress(`created pool key ${keyFile}`);

  // Gossip is pool-wide: every node must see the instances of every cloud of the pool.
  const listClouds = async () => {
    const all: CloudInstance[] = [];
    for (const name of Object.keys(ctx.pool.clouds)) {
      const listed = await ctx.remoter(name).list({ pool: ctx.pool.name, cloud: name });
      all.push(...listed.map((instance) => ({ cloud: name, instance })));
    }
    return all;
  };
  const listAll = async () => (await listClouds()).map((e) => e.instance);
  const waited = waitedInstances(listClouds, cloudName);

  const remoter = ctx.remoter(cloudName);
  // A leader's start, from the laptop: launches cut short are settled, stray agents ended.
  const settled = await remoter.reconcile?.({ pool: ctx.pool.name, cloud: cloudName });
  // ec2 and vsphere adopt everything they list (their marks are set at creation): nothing to report.
  const listsAll = cloud.using.provider === 'ec2' || cloud.using.provider === 'vsphere';
  if (settled && !listsAll && settled.adopted.length > 0)
    io.progress(`adopted ${settled.adopted.join(', ')} (launched by a run that was cut short)`);
  if (settled && settled.cleared.length > 0) io.progress(`cleared launches cut short: ${settled.cleared.join(', ')}`);
  if (settled && settled.strays.length > 0) io.progress(`ended agents no record named: ${settled.strays.join(', ')}`);
  const listed = await remoter.list({ pool: ctx.pool.name, cloud: cloudName });
  const before = listed.filter(isServing);
  const known = new Set(listed.filter(isLive).map((i) => i.id));
  let running = before.length;
  const overSsh = cloud.using.provider === 'ec2' && cloud.using.ssh !== undefined;
  const need = cloud.instances.min - running;
  const launched: InstanceRecord[] = [];
  try {
    if (need > 0) {
      io.progress(`launching ${need} instance${need > 1 ? 's' : ''} in cloud ${cloudName} (${running} running)`);
      // An ssh launch hands every host of the batch to the others itself; ec2 and vsphere need a seed.
      const seedFirst = listsAll && need > 1 && (await listAll()).filter(isLive).length === 0;
      const batches = seedFirst ? [1, need - 1] : [need];
      if (cloud.using.provider === 'ssh' || overSsh) await ensureArtifact(io.progress);
      for (const count of batches) {
        const batch = await remoter
          .launch({ cloud: cloudName, count, clientToken: bootstrapToken(ctx.pool.name, cloudName, running) })
          .catch((err: unknown) => {
            throw explainSshFailure(err);
          });
        running += batch.length;
        launched.push(...batch);
        for (const i of batch)
          io.progress(`launched ${i.id} at ${i.privateIp ?? i.publicIp ?? '?'} (monitor ${i.monitor ?? '-'})`);
      }
    } else {
      io.progress(`${running} instances of cloud ${cloudName} already running (min ${cloud.instances.min})`);
      if (overSsh) await ensureArtifact(io.progress);
    }
    return await finish(ctx, opts, io, { cloudName, keyFile, created, listAll, waited, before, launched, overSsh });
  } catch (err) {
    if (need <= 0) throw err;
    // What this run added (and hosts it re-provisioned); instances live before it are left alone.
    const ours = (i: InstanceRecord) => !known.has(i.id) || launched.some((l) => l.id === i.id);
    throw await undoLaunches(ctx, cloudName, ours, err, io);
  }
}

/**
 * A bootstrap that failed after launching ends what it launched (a sweep of the instances it
 * added) and fails with the cause; what could not be ended is named, with the command that does.
 */
async function undoLaunches(
  ctx: PoolContext,
  cloud: string,
  ours: (i: InstanceRecord) => boolean,
  cause: unknown,
  io: CommandIO,
): Promise<Error> {
  const why = cause instanceof Error ? cause.message : String(cause);
  const { terminated, left, failures } = await sweep(ctx, [cloud], ours, io).catch((err: unknown) => ({
    terminated: [] as string[],
    left: [] as InstanceRecord[],
    failures: [`cannot list cloud ${cloud}: ${(err as Error).message}`],
  }));
  if (terminated.length > 0) io.progress(`bootstrap failed: ended what it launched: ${terminated.join(', ')}`);
  if (left.length === 0 && failures.length === 0) return cause instanceof Error ? cause : new OperationError(why);
  const leftText = left.length > 0 ? `still running: ${left.map((i) => i.id).join(', ')}` : 'could not check';
  return new OperationError(
    `${why}; ${leftText}${failures.length > 0 ? ` (${failures.join('; ')})` : ''}; remove with: ${terminateHint(ctx, cloud)}`,
  );
}

interface Launched {
  cloudName: string;
  keyFile: string;
  created: boolean;
  listAll: () => Promise<InstanceRecord[]>;
  /** What the convergence wait covers (bootstrap-waited.ts). */
  waited: () => Promise<InstanceRecord[]>;
  before: InstanceRecord[];
  launched: InstanceRecord[];
  overSsh: boolean;
}

/** Provisions ec2-with-ssh instances, waits for convergence and builds the result. */
async function finish(
  ctx: PoolContext,
  opts: BootstrapOptions,
  io: CommandIO,
  { cloudName, keyFile, created, listAll, waited, before, launched, overSsh }: Launched,
): Promise<BootstrapResult> {
  const { timeoutMs, signal } = opts;
  // ec2 with `ssh`: the new instances get the agent over SSH, the running ones an upgrade in place.
  // Imported here: only ec2 clouds with `ssh` need it (and ssh2 with it).
  const provisioned = overSsh
    ? await (await import('../ec2-provision.ts')).provisionEc2Instances(ctx, cloudName, {
        fresh: launched.map((i) => i.id),
        existing: before.filter((i) => i.state === 'pending' || i.state === 'running').map((i) => i.id),
        artifact: artifactDir(process.env),
        acceptNewHostKey: opts.acceptNewHostKey === true,
        listAll,
        progress: io.progress,
      })
    : undefined;
  const wait = opts.wait ?? true;
  const live = (await listAll()).filter(isLive);
  let views = new Map<string, ClusterView>();
  if (live.length > 0 && wait) {
    const nodes = (await waited()).filter(isLive).length;
    io.progress(`waiting for ${nodes} nodes to see each other (gives up after ${timeoutMs / 1000}s without progress)`);
    views = await waitForConvergence({ list: waited, timeoutMs, pollMs: 250, progress: io.progress, signal });
    const up = (await waited()).filter(isLive).length;
    io.progress(`pool ${ctx.pool.name} is up: ${up}/${up} alive everywhere`);
  } else if (live.length > 0) {
    io.progress(`not waiting for the nodes to see each other (--no-wait): check with poolparty status`);
  }
  const instances = wait ? (await listAll()).filter(isLive) : live;
  return {
    pool: ctx.pool.name,
    cloud: cloudName,
    stateDir: ctx.stateDir,
    poolKey: { file: keyFile, created },
    launched,
    ...(provisioned ? { provisioned } : {}),
    instances,
    monitors: instances.map((i) => i.monitor).filter((m): m is string => m !== undefined),
    cluster: views.values().next().value ?? null,
    waited: wait,
  };
}

/**
 * Live and serving: an ssh host whose agent does not answer /health is not counted, so a re-run
 * bootstrap re-provisions it in place (docs/ssh.md); the ssh remoter's launch takes such hosts first.
 */
function isServing(i: InstanceRecord): boolean {
  return isLive(i) && (i as { agent?: string }).agent !== 'unreachable';
}

export function bootstrapText(r: BootstrapResult): string {
  if (r.instances.length === 0) return `pool ${r.pool} has no instances (min is 0)`;
  const lines = r.cluster ? [clusterTable(r.cluster), ''] : [];
  const width = Math.max(10, ...r.instances.map((i) => i.id.length));
  lines.push('monitors:', ...r.instances.map((i) => `  ${i.id.padEnd(width)} ${i.monitor ?? '-'}`));
  return lines.join('\n');
}

/** The last progress line: what this run did and what runs now. */
export function bootstrapSummary(r: BootstrapResult): string {
  const seen = r.waited ? (r.instances.length > 0 ? ', every node sees every node' : '') : ' (not waited for)';
  return `${r.launched.length} launched, ${r.instances.length} running in pool ${r.pool}${seen}`;
}

/** `poolparty bootstrap`; its options and help are in cli/command-table.ts. */
export const run: CommandHandler = async ({ values, io }) => {
  const timeoutMs = timeoutOption(values);
  const wait = values['no-wait'] !== true;
  if (!wait && values.timeout !== undefined)
    throw new UsageError('bootstrap: --timeout and --no-wait exclude each other');
  const t = timed('bootstrap', io);
  const ctx = await openPool(values, 'bootstrap', t.io);
  const acceptNewHostKey = values['accept-new-host-key'] === true;
  const cloud = optionalString(values, 'cloud');
  const result = await t.run(
    () => bootstrapPool(ctx, cloud, { timeoutMs, wait, acceptNewHostKey }, t.io),
    bootstrapSummary,
  );
  return { data: result, text: bootstrapText(result) };
};
