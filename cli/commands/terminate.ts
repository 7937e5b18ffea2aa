import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { KnownHosts } from '../../shared/provision/known-hosts.ts';
import type { InstanceRecord } from '../../shared/remoter/types.ts';
import { type Command, type CommandIO, OperationError, UsageError } from '../command.ts';
import { isLive, listInstances, openPool, POOL_OPTIONS, type PoolContext, SSH_OPTIONS } from '../context.ts';
import { forgetAliasedHostKeys } from '../ec2-ssh.ts';
import { explainSshFailure } from '../ssh-progress.ts';

export interface TerminateResult {
  pool: string;
  terminated: string[];
}

/**
 * Rounds of terminate: a leader that was mid-launch when the first round began may add an
 * instance, and a lone survivor would heal the pool back to `min`. Every round signals every
 * agent listed, so a second round normally finds nothing.
 */
const TERMINATE_ROUNDS = 5;

/** Terminates every live instance of the chosen clouds and checks that none is left. */
export async function terminatePool(ctx: PoolContext, io: CommandIO): Promise<TerminateResult> {
  const terminated: string[] = [];
  let live = (await listInstances(ctx)).filter(isLive);
  for (let round = 0; round < TERMINATE_ROUNDS && live.length > 0; round++) {
    for (const cloud of ctx.clouds) {
      const ids = live.filter((i) => i.tags['poolparty:cloud'] === cloud).map((i) => i.id);
      if (ids.length === 0) continue;
      io.progress(`terminating ${ids.join(', ')}`);
      await ctx
        .remoter(cloud)
        .terminate(ids)
        .catch((err: unknown) => {
          throw explainSshFailure(err);
        });
      terminated.push(...ids.filter((id) => !terminated.includes(id)));
      await forgetHostKeys(ctx, cloud, ids);
    }
    live = (await listInstances(ctx)).filter(isLive);
  }
  if (live.length > 0) throw new OperationError(`still running after terminate: ${live.map((i) => i.id).join(', ')}`);
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

export const terminateCommand: Command = {
  name: 'terminate',
  summary: 'terminate every instance of the pool (or of --cloud)',
  usage: '-c FILE [--cloud NAME] [--yes] [--accept-new-host-key] [--json]',
  options: {
    ...POOL_OPTIONS,
    ...SSH_OPTIONS,
    yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation' },
  },
  async run({ values, io }) {
    const ctx = await openPool(values, 'terminate', io);
    const live = (await listInstances(ctx)).filter(isLive);
    if (live.length === 0) {
      return { data: { pool: ctx.pool.name, terminated: [] }, text: `pool ${ctx.pool.name} has no running instances` };
    }
    if (!values.yes) {
      if (!io.stdin.isTTY)
        throw new UsageError('terminate: refusing to terminate without --yes (stdin is not a terminal)');
      if (!(await confirm(io, live, ctx.pool.name))) throw new OperationError('terminate: cancelled');
    }
    const result = await terminatePool(ctx, io);
    return { data: result, text: `terminated ${result.terminated.join(', ')}` };
  },
};
