import type { InstanceRecord } from '../../shared/remoter/types.ts';
import { type CommandHandler, UsageError } from '../command.ts';
import { compileCloud, hasConfiguration } from '../compile-cloud.ts';
import { openPool, type PoolContext } from '../context.ts';
import { fetchBundle } from '../monitor-client.ts';
import {
  bootstrapPlan,
  type CloudPlan,
  configurePlan,
  type NodeBundle,
  PLAN_COMMANDS,
  type Plan,
  type PlanCommand,
  planText,
  terminatePlan,
} from '../plan-steps.ts';

/** How long one node's monitor may take to say which bundle it runs. */
const MONITOR_TIMEOUT = 2000;

/**
 * `poolparty plan [bootstrap|terminate|configure]`: lists the pool through the provider and says
 * what the command would do, without doing it — no launch, no reconcile, no bundle written (it is
 * compiled in memory for its hash). Options and help: cli/command-table.ts.
 */
export const run: CommandHandler = async ({ values, positionals }) => {
  const command = (positionals[0] ?? 'bootstrap') as PlanCommand;
  if (!PLAN_COMMANDS.includes(command)) {
    throw new UsageError(`plan: unknown command '${command}' (plan one of: ${PLAN_COMMANDS.join(', ')})`);
  }
  const ctx = await openPool(values, 'plan');
  const clouds: CloudPlan[] = [];
  for (const name of ctx.clouds) {
    const cloud = ctx.pool.clouds[name];
    if (!cloud) continue;
    const listed = await ctx.remoter(name).list({ pool: ctx.pool.name, cloud: name });
    if (command === 'bootstrap') clouds.push(bootstrapPlan(name, cloud, listed));
    else if (command === 'terminate') clouds.push(terminatePlan(name, cloud, listed));
    else clouds.push(await planConfigure(ctx, name, listed));
  }
  const plan: Plan = { pool: ctx.pool.name, command, clouds };
  return { data: plan, text: planText(plan) };
};

async function planConfigure(ctx: PoolContext, name: string, listed: InstanceRecord[]): Promise<CloudPlan> {
  const cloud = ctx.pool.clouds[name];
  if (!cloud) throw new Error(`no cloud ${name}`);
  const sha = hasConfiguration(ctx, name) ? (await compileCloud(ctx, name)).sha256 : null;
  const nodes = new Map<string, NodeBundle>();
  if (sha !== null) {
    await Promise.all(
      listed
        .filter((i) => i.state !== 'terminated' && i.monitor)
        .map(async (i) => {
          try {
            const view = await fetchBundle(i.monitor as string, MONITOR_TIMEOUT);
            nodes.set(
              i.id,
              view
                ? { applied: view.applied, target: view.target, state: view.state }
                : { unreachable: 'the agent serves no /bundle' },
            );
          } catch (err) {
            nodes.set(i.id, { unreachable: (err as Error).message });
          }
        }),
    );
  }
  return configurePlan(name, cloud, listed, sha, nodes);
}
