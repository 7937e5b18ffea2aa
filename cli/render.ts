import { formatDuration } from '../shared/duration.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import type { ClusterView, PoolEvent, ScalingDecision } from '../shared/wire/cluster.ts';
import { BUILTIN_METRICS, type MetricValue } from '../shared/wire/metrics.ts';

/** Left-aligned columns separated by two spaces; the header row first. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** 12D3KooWAbc…xyz123: enough to tell members apart. */
export function shortPeerId(peerId: string): string {
  return peerId.length > 16 ? `${peerId.slice(0, 8)}…${peerId.slice(-6)}` : peerId;
}

function metric(value: MetricValue | undefined, name: string): string {
  if (value === undefined || value === null || Number.isNaN(value)) return '-';
  if (name === 'cpu' || name === 'mem') return `${value.toFixed(0)}%`;
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

/** The cluster as one node sees it; the leader is marked with '*', custom metrics get columns. */
export function clusterTable(view: ClusterView): string {
  const custom = [...new Set(view.members.flatMap((m) => Object.keys(m.metrics)))]
    .filter((k) => !(BUILTIN_METRICS as readonly string[]).includes(k))
    .sort();
  const metrics = [...BUILTIN_METRICS, ...custom];
  const header = ['PEER', 'INSTANCE', 'STATE', ...metrics.map((m) => m.toUpperCase()), 'LAST SEEN', 'MONITOR'];
  const rows = view.members.map((m) => [
    `${shortPeerId(m.peerId)}${view.leader?.peerId === m.peerId ? ' *' : ''}${m.peerId === view.self ? ' (self)' : ''}`,
    m.instanceId,
    m.state,
    ...metrics.map((k) => metric(m.metrics[k], k)),
    m.peerId === view.self ? '-' : `${formatDuration(m.lastSeenMs)} ago`,
    m.monitor,
  ]);
  const alive = view.members.filter((m) => m.state === 'alive').length;
  const leader = view.leader ? `leader ${shortPeerId(view.leader.peerId)} (term ${view.leader.term})` : 'no leader';
  return `${table(header, rows)}\n\npool ${view.pool}: ${alive}/${view.members.length} alive, ${leader}`;
}

export function instanceTable(instances: InstanceRecord[]): string {
  if (instances.length === 0) return 'no instances';
  return table(
    ['ID', 'CLOUD', 'STATE', 'ADDRESS', 'LAUNCHED', 'MONITOR'],
    instances.map((i) => [
      i.id,
      i.tags['poolparty:cloud'] ?? '-',
      i.state,
      i.privateIp ?? i.publicIp ?? '-',
      new Date(i.launchedAt).toISOString().replace('T', ' ').slice(0, 19),
      i.monitor ?? '-',
    ]),
  );
}

/** The first 12 hex digits of a bundle hash: enough to tell bundles apart in a log line. */
export function shortSha(sha: string): string {
  return sha.slice(0, 12);
}

/** Clock time of an epoch-ms instant, e.g. 17:04:31. */
export function clock(at: number): string {
  return new Date(at).toTimeString().slice(0, 8);
}

/** What a decision did, in a few words: 'expand +1', 'contract -2 (local-5, local-4)', 'none'. */
export function decisionAction(d: ScalingDecision): string {
  if (d.action === 'none') return d.blocked ? `none (${d.blocked})` : 'none';
  const sign = d.action === 'contract' ? '-' : d.action === 'expand' ? '+' : '';
  const targets = d.targets?.length ? ` (${d.targets.join(', ')})` : '';
  return `${d.action} ${sign}${d.count}${targets}`;
}

function decisionResult(d: ScalingDecision): string {
  if (!d.result) return '-';
  return d.error ? `${d.result}: ${d.error}` : d.result;
}

/**
 * One line per pool event. `names` maps peer ids to instance ids for events that only carry a
 * peer id (leadership), so every line names the instance.
 */
export function eventLine(event: PoolEvent, names: ReadonlyMap<string, string> = new Map()): string {
  const head = `${clock(event.at)}  ${event.type.padEnd(19)}`;
  const who = (peerId: string, instanceId = names.get(peerId) ?? '?') =>
    `${instanceId.padEnd(10)}  ${shortPeerId(peerId)}`;
  switch (event.type) {
    case 'leader-elected':
      return `${head}  ${who(event.peerId)}  term ${event.term}${event.reason ? ` (${event.reason})` : ''}`;
    case 'leader-lost':
      return `${head}  ${who(event.peerId)}  term ${event.term}`;
    case 'leader-stepped-down':
      return `${head}  ${who(event.peerId)}  term ${event.term}: ${event.reason}`;
    case 'retiring':
      return `${head}  ${who(event.peerId, event.instanceId)}  term ${event.term}: ${event.reason}`;
    case 'scaling-decision': {
      const result = event.result ? ` → ${decisionResult(event)}` : '';
      return `${head}  ${decisionAction(event)} at ${event.instances} instances: ${event.reason}${result}`;
    }
    case 'bundle-applied':
      return `${head}  ${who(event.peerId)}  ${shortSha(event.sha)} by ${event.resolver ?? 'no resolver'} in ${formatDuration(event.durationMs)}`;
    case 'bundle-failed':
      return `${head}  ${who(event.peerId)}  ${shortSha(event.sha)} at ${event.stage}: ${event.error}`;
    case 'rollout-started':
      return `${head}  ${shortSha(event.sha)}, at most ${event.maxUnavailable} node(s) at a time`;
    case 'rollout-halted':
      return `${head}  ${shortSha(event.sha)}: ${event.reason}`;
    case 'rollout-complete':
      return `${head}  ${shortSha(event.sha)} on ${event.members} member(s)`;
    case 'upgrade-started':
    case 'upgrade-complete':
      return `${head}  ${event.version} (${shortSha(event.sha)}), ${event.members} member(s)${event.type === 'upgrade-started' && event.resumed ? ', continued by a new leader' : ''}${event.type === 'upgrade-started' && event.reason ? `: ${event.reason}` : ''}`;
    case 'upgrade-progress':
      return `${head}  ${who(event.peerId, event.instanceId)}  ${event.phase} ${event.version}${event.error ? `: ${event.error}` : ''}`;
    case 'upgrade-halted':
      return `${head}  ${who(event.peerId, event.instanceId)}  ${event.version}: ${event.reason}`;
    default:
      return `${head}  ${who(event.peerId, event.instanceId)}`;
  }
}

/** 'leader 12D3KooW…abc123 (local-1), term 3, since 17:04:31 (2m10s ago)'. */
export function leaderLine(
  leader: { peerId: string; term: number; since: number } | null,
  now: number,
  names: ReadonlyMap<string, string> = new Map(),
): string {
  if (!leader) return 'leader: none elected yet';
  const instance = names.get(leader.peerId);
  const ago = formatDuration(Math.max(0, now - leader.since));
  return `leader ${shortPeerId(leader.peerId)}${instance ? ` (${instance})` : ''}, term ${leader.term}, since ${clock(leader.since)} (${ago} ago)`;
}

/** The last decisions, newest last, as a table (with a CLOUD column when they span several clouds). */
export function decisionsTable(decisions: readonly ScalingDecision[]): string {
  if (decisions.length === 0) return 'no scaling decisions yet';
  const clouds = new Set(decisions.map((d) => d.cloud)).size > 1;
  return table(
    ['TIME', ...(clouds ? ['CLOUD'] : []), 'ACTION', 'COUNT', 'INSTANCES', 'RESULT', 'REASON'],
    decisions.map((d) => [
      clock(d.at),
      ...(clouds ? [d.cloud] : []),
      d.action === 'none' && d.blocked ? `none (${d.blocked})` : d.action,
      String(d.count),
      String(d.instances),
      decisionResult(d),
      d.reason,
    ]),
  );
}
