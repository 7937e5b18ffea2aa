import type { CloudDefinition } from '../shared/config/schema.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import { shortSha, table } from './render.ts';

/**
 * `poolparty plan`'s answers, pure: given what the provider lists (and, for configure, the bundle
 * hash and what each node reports), what bootstrap, terminate or configure would do. The same
 * rules as the commands themselves: bootstrap counts live, serving instances towards `min`;
 * terminate ends every live instance; configure rolls the compiled bundle out to every node not
 * already running it.
 */

export const PLAN_COMMANDS = ['bootstrap', 'terminate', 'configure'] as const;
export type PlanCommand = (typeof PLAN_COMMANDS)[number];

export type InstanceAction = 'keep' | 'launch' | 'end' | 'update' | 'unchanged' | 'unknown';

export interface PlannedInstance {
  id: string;
  state: InstanceRecord['state'] | 'new';
  address: string | null;
  monitor: string | null;
  action: InstanceAction;
  /** For configure: the bundle the node runs (null: none), or why it is not known. */
  bundle?: string | null;
  note?: string;
}

export interface CloudPlan {
  cloud: string;
  provider: CloudDefinition['using']['provider'];
  min: number;
  max: number;
  instances: PlannedInstance[];
  /** How many instances the command would launch. */
  launch: number;
  /** Ids the command would end. */
  end: string[];
  /** For configure: the bundle it would roll out (null: the cloud configures nothing). */
  bundle?: string | null;
  notes: string[];
}

export interface Plan {
  pool: string;
  command: PlanCommand;
  clouds: CloudPlan[];
}

/** What a node reports of its configuration, or why it could not be asked. */
export type NodeBundle = { applied: string | null; target?: string | null; state?: string } | { unreachable: string };

const live = (i: InstanceRecord) => i.state !== 'terminated';
/** As bootstrap counts: an ssh host whose agent does not answer is provisioned again, not counted. */
const serving = (i: InstanceRecord) => live(i) && (i as { agent?: string }).agent !== 'unreachable';

function row(i: InstanceRecord, action: InstanceAction): PlannedInstance {
  return { id: i.id, state: i.state, address: i.privateIp ?? i.publicIp ?? null, monitor: i.monitor ?? null, action };
}

function base(name: string, cloud: CloudDefinition): Omit<CloudPlan, 'instances' | 'launch' | 'end' | 'notes'> {
  return { cloud: name, provider: cloud.using.provider, min: cloud.instances.min, max: cloud.instances.max };
}

export function bootstrapPlan(name: string, cloud: CloudDefinition, listed: readonly InstanceRecord[]): CloudPlan {
  const kept = listed.filter(live);
  const counted = kept.filter(serving).length;
  const launch = Math.max(0, cloud.instances.min - counted);
  // The ssh remoter's launch takes hosts whose agent is silent first, up to the launch count.
  let again = 0;
  const instances = kept.map((i) => {
    if (serving(i)) return row(i, 'keep');
    if (again >= launch) return { ...row(i, 'keep'), note: 'agent not answering' };
    again++;
    return { ...row(i, 'launch'), note: 'agent not answering: provisioned again' };
  });
  const fresh = launch - again;
  for (let n = 0; n < fresh; n++) {
    instances.push({ id: '(new)', state: 'new', address: null, monitor: null, action: 'launch' });
  }
  const notes: string[] = [];
  if (counted > 0) notes.push(`pool exists: ${counted} running instance(s) count towards min ${cloud.instances.min}`);
  if (launch === 0) notes.push('nothing to launch');
  return { ...base(name, cloud), instances, launch, end: [], notes };
}

export function terminatePlan(name: string, cloud: CloudDefinition, listed: readonly InstanceRecord[]): CloudPlan {
  const kept = listed.filter(live);
  const notes = kept.length === 0 ? ['nothing to terminate'] : [];
  return {
    ...base(name, cloud),
    instances: kept.map((i) => row(i, 'end')),
    launch: 0,
    end: kept.map((i) => i.id),
    notes,
  };
}

/**
 * `sha` null: the cloud configures nothing, so configure has nothing to roll out. A node that
 * could not be asked is 'unknown', with the reason: the plan does not guess.
 */
export function configurePlan(
  name: string,
  cloud: CloudDefinition,
  listed: readonly InstanceRecord[],
  sha: string | null,
  nodes: ReadonlyMap<string, NodeBundle>,
): CloudPlan {
  const instances = listed.filter(live).map((i): PlannedInstance => {
    const node = nodes.get(i.id);
    if (sha === null) return row(i, 'unchanged');
    if (!node) return { ...row(i, 'unknown'), note: 'no monitor address' };
    if ('unreachable' in node) return { ...row(i, 'unknown'), note: `unreachable: ${node.unreachable}` };
    const action = node.applied === sha ? 'unchanged' : 'update';
    const note =
      node.target && node.target !== node.applied ? `${node.state ?? 'pending'} ${shortSha(node.target)}` : undefined;
    return { ...row(i, action), bundle: node.applied, ...(note ? { note } : {}) };
  });
  const notes: string[] = [];
  if (sha === null) notes.push('nothing to configure: the cloud has no resources, cookbooks, run list or verifiers');
  else {
    const count = (a: InstanceAction) => instances.filter((i) => i.action === a).length;
    notes.push(`${count('update')} to update, ${count('unchanged')} already on it, ${count('unknown')} not reachable`);
    if (instances.length === 0) notes.push('no running instances: new ones get the bundle when launched');
  }
  return { ...base(name, cloud), instances, launch: 0, end: [], bundle: sha, notes };
}

export function planText(plan: Plan): string {
  const out: string[] = [];
  for (const c of plan.clouds) {
    out.push(`cloud ${c.cloud} (${c.provider}, min ${c.min}, max ${c.max}):`);
    if (c.bundle) out.push(`  bundle ${c.bundle}`);
    if (c.instances.length > 0) {
      const withBundle = plan.command === 'configure';
      const header = ['ACTION', 'ID', 'STATE', 'ADDRESS', ...(withBundle ? ['BUNDLE'] : []), 'NOTE'];
      const rows = c.instances.map((i) => [
        i.action,
        i.id,
        i.state,
        i.address ?? '-',
        ...(withBundle ? [i.bundle ? shortSha(i.bundle) : i.bundle === null ? 'none' : '-'] : []),
        i.note ?? '',
      ]);
      out.push(
        ...table(header, rows)
          .split('\n')
          .map((l) => `  ${l}`),
      );
    }
    out.push(...c.notes.map((n) => `  ${n}`), '');
  }
  out.push(summary(plan));
  return out.join('\n');
}

/** One line like terraform's: what the command would change in all. */
export function summary(plan: Plan): string {
  const sum = (f: (c: CloudPlan) => number) => plan.clouds.reduce((n, c) => n + f(c), 0);
  switch (plan.command) {
    case 'bootstrap':
      return `plan: bootstrap would launch ${sum((c) => c.launch)} instance(s), keep ${sum((c) => c.instances.filter((i) => i.action === 'keep').length)}`;
    case 'terminate':
      return `plan: terminate would end ${sum((c) => c.end.length)} instance(s)`;
    case 'configure':
      return `plan: configure would update ${sum((c) => c.instances.filter((i) => i.action === 'update').length)} node(s), ${sum((c) => c.instances.filter((i) => i.action === 'unknown').length)} unknown`;
  }
}
