import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { KnownHosts } from '../../shared/provision/known-hosts.ts';
import { type InstanceRecord, TAG_CLOUD } from '../../shared/remoter/types.ts';
import { type CommandHandler, type CommandIO, OperationError, UsageError } from '../command.ts';
import { isLive, listInstances, openPool, type PoolContext } from '../context.ts';
import { forgetAliasedHostKeys } from '../ec2-ssh.ts';
import { timed } from '../progress.ts';
import { explainSshFailure } from '../ssh-progress.ts';
import { SWEEP_DEFAULTS, type SweepLimits } from '../terminate-limits.ts';

export interface TerminateResult {
  pool: string;
  terminated: string[];
}

/** How hard a sweep tries: see cli/terminate-limits.ts. */
export { SWEEP_DEFAULTS, type SweepLimits };

export interface SweepResult {
  /** Ids whose terminate call succeeded. */
  terminated: string[];
  /** Live instances still listed when the sweep gave up (empty on success). */
  left: InstanceRecord[];
  /** The last failure per cloud, one line each. */
  failures: string[];
}

/**
 * Ends the live instances of `clouds` that `pick` selects, then lists again, round after round,
 * until the providers list none of them or the limits run out. Each listing first reconciles
 * (cut-short launches, stray agents no record names), so nothing unrecorded survives either.
 * A provider's failure is reported and the sweep goes on: it is the listing that decides.
 */
export async function sweep(
  ctx: PoolContext,
  clouds: string[],
  pick: (i: InstanceRecord) => boolean,
  io: CommandIO,
  limits: SweepLimits = SWEEP_DEFAULTS,
): Promise<SweepResult> {
  const terminated: string[] = [];
  const failures = new Map<string, string>();
  const deadline = Date.now() + limits.timeoutMs;
  let left = await listLeft(ctx, clouds, pick, io, failures);
  for (let round = 1; left.length > 0 && round <= limits.rounds && Date.now() < deadline; round++) {
    if (round > 1) await sleep(limits.pauseMs);
    for (const cloud of clouds) {
      const ids = left.filter((i) => i.tags[TAG_CLOUD] === cloud).map((i) => i.id);
      if (ids.length === 0) continue;
      io.progress(`round ${round}: terminating ${ids.join(', ')}`);
      try {
        await ctx.remoter(cloud).terminate(ids);
        terminated.push(...ids.filter((id) => !terminated.includes(id)));
        await forgetHostKeys(ctx, cloud, ids);
      } catch (err) {
        const line = errorLine(explainSshFailure(err));
        failures.set(cloud, line);
        io.progress(`round ${round}: cloud ${cloud}: ${line}`);
      }
    }
    left = await listLeft(ctx, clouds, pick, io, failures);
  }
  return { terminated, left, failures: [...failures].map(([cloud, line]) => `${cloud}: ${line}`) };
}

/** Reconciles then lists each cloud; what `pick` selects among the live instances. */
async function listLeft(
  ctx: PoolContext,
  clouds: string[],
  pick: (i: InstanceRecord) => boolean,
  io: CommandIO,
  failures: Map<string, string>,
): Promise<InstanceRecord[]> {
  const all: InstanceRecord[] = [];
  for (const cloud of clouds) {
    const remoter = ctx.remoter(cloud);
    try {
      const r = await remoter.reconcile?.({ pool: ctx.pool.name, cloud });
      if (r && r.strays.length > 0) io.progress(`cloud ${cloud}: ended agents no record named: ${r.strays.join(', ')}`);
      if (r && r.cleared.length > 0) io.progress(`cloud ${cloud}: cleared launches cut short: ${r.cleared.join(', ')}`);
    } catch (err) {
      const line = errorLine(explainSshFailure(err));
      failures.set(cloud, line);
      io.progress(`cloud ${cloud}: reconcile failed: ${line}`);
    }
    all.push(...(await remoter.list({ pool: ctx.pool.name, cloud })));
  }
  return all.filter((i) => isLive(i) && pick(i));
}

function errorLine(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The command that ends what a failed run left behind. */
export function terminateHint(ctx: PoolContext, cloud?: string): string {
  const dir = ` --state-dir ${JSON.stringify(ctx.stateDir)}`;
  return `poolparty terminate -c ${JSON.stringify(ctx.configFile)}${cloud ? ` --cloud ${cloud}` : ''}${dir} --yes`;
}

/**
 * Fences the pool (cli/fence.ts), then sweeps every instance of the chosen clouds. Throws an
 * OperationError naming what is left, and the last provider failure, if the sweep ran out.
 */
export async function terminatePool(
  ctx: PoolContext,
  io: CommandIO,
  limits: SweepLimits = SWEEP_DEFAULTS,
): Promise<TerminateResult> {
  // Imported here, not at the top: bootstrap sweeps what a failed run launched without the fence
  // (and without libp2p, which the fence joins the pool with).
  const { fencePool } = await import('../fence.ts');
  await fencePool(ctx, io);
  const { terminated, left, failures } = await sweep(ctx, ctx.clouds, () => true, io, limits);
  if (left.length > 0) {
    const why = failures.length > 0 ? ` (${failures.join('; ')})` : '';
    throw new OperationError(
      `still running after terminate: ${left.map((i) => i.id).join(', ')}${why}; run again: ${terminateHint(ctx)}`,
    );
  }
  if (terminated.length > 0) {
    const n = terminated.length;
    io.progress(`terminated ${n} instance${n > 1 ? 's' : ''} of pool ${ctx.pool.name}`);
  }
  return { pool: ctx.pool.name, terminated };
}

/**
 * Host keys of an ec2 cloud with `ssh` are recorded under the instance id, which EC2 never reuses:
 * a terminated instance's lines would only pile up. (Static SSH hosts keep theirs: the same
 * machine comes back.)
 */
async function forgetHostKeys(ctx: PoolContext, cloud: string, ids: string[]): Promise<void> {
  const using = ctx.pool.clouds[cloud]?.using;
  if (using?.provider !== 'ec2' || !using.ssh) return;
  const knownHosts = new KnownHosts(join(ctx.stateDir, 'known_hosts'));
  for (const id of ids) await forgetAliasedHostKeys(knownHosts, id);
}

async function confirm(io: CommandIO, live: InstanceRecord[], pool: string): Promise<boolean> {
  const rl = createInterface({ input: io.stdin, output: process.stderr });
  try {
    const answer = await rl.question(
      `Terminate ${live.length} instance(s) of pool ${pool} (${live.map((i) => i.id).join(', ')})? [y/N] `,
    );
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** `poolparty terminate`; its options and help are in cli/command-table.ts. */
export const run: CommandHandler = async ({ values, io }) => {
  const t = timed('terminate', io);
  const ctx = await openPool(values, 'terminate', t.io);
  const live = (await listInstances(ctx)).filter(isLive);
  const summary = (r: TerminateResult) =>
    `${r.terminated.length} instance${r.terminated.length === 1 ? '' : 's'} of pool ${r.pool} ended`;
  if (live.length === 0) {
    // Nothing recorded; the sweep still reconciles, ending agents that no record names.
    const result = await t.run(() => terminatePool(ctx, t.io), summary);
    return { data: result, text: `pool ${ctx.pool.name} has no running instances` };
  }
  if (!values.yes) {
    if (!io.stdin.isTTY)
      throw new UsageError('terminate: refusing to terminate without --yes (stdin is not a terminal)');
    if (!(await confirm(io, live, ctx.pool.name))) throw new OperationError('terminate: cancelled');
  }
  const result = await t.run(() => terminatePool(ctx, t.io), summary);
  return { data: result, text: `terminated ${result.terminated.join(', ')}` };
};
