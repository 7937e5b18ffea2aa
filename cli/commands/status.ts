import type { ClusterView, ScalingDecision } from '../../shared/wire/cluster.ts';
import { type CommandHandler, OperationError, optionalString, UsageError } from '../command.ts';
import {
  type BundleView,
  fetchBundle,
  fetchCluster,
  fetchLeader,
  fetchScaling,
  type LeaderInfo,
  type ScalingView,
} from '../monitor-client.ts';
import { clusterTable, decisionsTable, leaderLine, table } from '../render.ts';

/** How many of the leader's decisions status shows (the monitor keeps 50). */
export const STATUS_DECISIONS = 10;

export interface StatusScaling extends ScalingView {
  /** The monitor the scaling state was read from: the leader's when it answers. */
  node: string;
  decisions: ScalingDecision[];
}

/** Each alive member's configuration (GET /bundle) and the leader's rollout. */
export interface StatusConfiguration {
  members: {
    peerId: string;
    instanceId: string;
    applied: string | null;
    state: string;
    error: string | null;
    /** The last apply's verifiers: how many passed and which failed (null: no apply reported). */
    verifiers: { passed: number; failed: string[] } | null;
  }[];
  /** The leader's rollout and its progress, or null when none was pushed (or the leader did not answer). */
  rollout: (NonNullable<BundleView['rollout']> & { progress: BundleView['progress'] }) | null;
}

/** GET /cluster of one node, with the leader it follows and the scaler's recent decisions. */
export interface StatusResult extends Omit<ClusterView, 'leader'> {
  /** The node that answered /cluster. */
  node: string;
  leader: LeaderInfo | null;
  /** Null when no node answers GET /scaling (agents older than scaling). */
  scaling: StatusScaling | null;
  configuration: StatusConfiguration;
}

/** Every alive member's GET /bundle (members that do not answer show state 'unknown'). */
async function configurationOf(view: ClusterView, leaderPeer: string | undefined): Promise<StatusConfiguration> {
  const alive = view.members.filter((m) => m.state === 'alive');
  const views = await Promise.all(alive.map((m) => fetchBundle(m.monitor, 1500).catch(() => null)));
  const members = alive.map((m, i) => {
    const b = views[i];
    // A member whose monitor this machine cannot reach still reports itself in heartbeats.
    const gossiped = m.bundle;
    return {
      peerId: m.peerId,
      instanceId: m.instanceId,
      applied: b ? b.applied : (gossiped?.applied ?? null),
      state: b?.state ?? gossiped?.state ?? (gossiped ? 'ok' : 'unknown'),
      error: b?.error ?? null,
      verifiers: verifiersOf(b) ?? gossiped?.report?.verifiers ?? null,
    };
  });
  const leaderView = views[alive.findIndex((m) => m.peerId === leaderPeer)];
  const rollout = leaderView?.rollout ? { ...leaderView.rollout, progress: leaderView.progress } : null;
  return { members, rollout };
}

function verifiersOf(b: BundleView | null | undefined): { passed: number; failed: string[] } | null {
  const list = b?.report?.verifiers as { name: string; ok: boolean }[] | undefined;
  if (!list) return null;
  return { passed: list.filter((v) => v.ok).length, failed: list.filter((v) => !v.ok).map((v) => v.name) };
}

/**
 * Completes a cluster view read from `node`: its leader (GET /leader) and the scaling state.
 * Only the leader records decisions, so /scaling is asked of the leader first, then of `node`.
 */
export async function statusOf(node: string, view: ClusterView): Promise<StatusResult> {
  const leader = await fetchLeader(node).catch(() => null);
  const leaderPeer = leader?.peerId ?? view.leader?.peerId;
  const leaderMonitor = view.members.find((m) => m.peerId === leaderPeer && m.state === 'alive')?.monitor;
  let scaling: StatusScaling | null = null;
  for (const source of [...new Set([leaderMonitor, node])]) {
    if (source === undefined) continue;
    const s = await fetchScaling(source).catch(() => null);
    if (s) {
      scaling = { ...s, node: source, decisions: allDecisions(s).slice(-STATUS_DECISIONS) };
      break;
    }
  }
  return { ...view, node, leader, scaling, configuration: await configurationOf(view, leaderPeer) };
}

export function statusText(r: StatusResult, now: number = Date.now()): string {
  const view: ClusterView = { ...r, leader: r.leader && { peerId: r.leader.peerId, term: r.leader.term } };
  const names = new Map(r.members.map((m) => [m.peerId, m.instanceId]));
  const lines = [clusterTable(view), leaderLine(r.leader, now, names), ...configurationLines(r.configuration, names)];
  const s = r.scaling;
  if (!s) return lines.join('\n');
  if (!s.enabled) {
    lines.push(`scaling: not enabled on ${s.node}`);
    return lines.join('\n');
  }
  const clouds = Object.values(s.clouds ?? {});
  if (clouds.length > 1) {
    lines.push(`scaling (${s.node}): ${clouds.length} clouds`);
    for (const c of clouds) lines.push(...cloudLines(`  ${c.cloud}: `, c, '    '));
  } else lines.push(...cloudLines(`scaling (${s.node}): `, s, '  '));
  const of = clouds.length > 1 ? ' (all clouds)' : '';
  lines.push('', `last ${STATUS_DECISIONS} scaling decisions${of}:`, decisionsTable(s.decisions));
  return lines.join('\n');
}

/** A cloud's count, bounds and rules: `head` starts the first line, `indent` the rules'. */
function cloudLines(head: string, s: Pick<ScalingView, 'bounds' | 'instances' | 'rules'>, indent: string): string[] {
  const bounds = s.bounds ? `, bounds ${s.bounds.min}..${s.bounds.max}` : '';
  const count = typeof s.instances === 'number' ? `${s.instances} instances` : 'instances not counted yet';
  const lines = [`${head}${count}${bounds}`];
  for (const kind of ['expand', 'contract'] as const) {
    const rule = s.rules?.[kind];
    if (rule) lines.push(`${indent}${kind} when ${rule.text}${rule.holds ? ' (holds now)' : ''}`);
  }
  return lines;
}

/** Every cloud's decisions oldest first (an agent without `clouds`: its own cloud's). */
function allDecisions(s: ScalingView): ScalingDecision[] {
  const clouds = Object.values(s.clouds ?? {});
  if (clouds.length === 0) return s.decisions ?? [];
  return clouds.flatMap((c) => c.decisions ?? []).sort((a, b) => a.at - b.at);
}

/** The rollout in one line and each member's applied bundle (short hash), when any node has one. */
export function configurationLines(c: StatusConfiguration | undefined, names: Map<string, string>): string[] {
  if (!c || (!c.rollout && c.members.every((m) => m.applied === null && m.state !== 'failed'))) return [];
  const lines: string[] = [];
  const r = c.rollout;
  if (r) {
    const done = r.progress ? `${r.progress.done.length}/${c.members.length} applied` : '';
    const state = r.halted
      ? `halted: ${[...names].reduce((t, [peer, id]) => t.replaceAll(peer, id), r.halted)}`
      : r.progress?.complete
        ? 'complete'
        : 'in progress';
    lines.push(
      `rollout ${r.sha.slice(0, 12)}: ${state}${done ? ` (${done})` : ''}, maxUnavailable ${r.maxUnavailable}`,
    );
  }
  lines.push(
    table(
      ['INSTANCE', 'BUNDLE', 'STATE', 'VERIFIERS', 'ERROR'],
      c.members.map((m) => [
        m.instanceId,
        m.applied?.slice(0, 12) ?? '-',
        m.state,
        verifiersText(m.verifiers),
        m.error ?? '',
      ]),
    ),
  );
  return ['', ...lines];
}

function verifiersText(v: { passed: number; failed: string[] } | null): string {
  if (!v) return '-';
  return v.failed.length === 0 ? `${v.passed} ok` : `${v.passed} ok, failed: ${v.failed.join(', ')}`;
}

/** `poolparty status`; its options and help are in cli/command-table.ts. */
export const run: CommandHandler = async ({ values }) => {
  const node = optionalString(values, 'node');
  let view: ClusterView;
  let answered: string;
  if (node !== undefined) {
    if (!/^https?:\/\//.test(node)) throw new UsageError(`status: --node must be an http(s) URL, got '${node}'`);
    view = await fetchCluster(node);
    answered = node;
  } else {
    // Only a pool definition needs the config loader and the providers; --node asks over HTTP alone.
    const { isLive, listInstances, openPool } = await import('../context.ts');
    const ctx = await openPool(values, 'status');
    const live = (await listInstances(ctx)).filter((i) => isLive(i) && i.monitor);
    if (live.length === 0) throw new OperationError(`pool ${ctx.pool.name} has no running instances`);
    const errors: string[] = [];
    let found: { view: ClusterView; node: string } | undefined;
    for (const inst of live) {
      try {
        found = { view: await fetchCluster(inst.monitor as string), node: inst.monitor as string };
        break;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (!found) throw new OperationError(`no node of pool ${ctx.pool.name} answers: ${errors.join('; ')}`);
    view = found.view;
    answered = found.node;
  }
  const result = await statusOf(answered, view);
  return { data: result, text: statusText(result) };
};
