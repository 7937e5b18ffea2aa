import { formatDuration } from '../shared/duration.ts';
import type { InstanceRecord } from '../shared/remoter/types.ts';
import type { ClusterView, MemberEvent } from '../shared/wire/cluster.ts';
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

export function eventLine(event: MemberEvent): string {
  const time = new Date(event.at).toTimeString().slice(0, 8);
  return `${time}  ${event.type.padEnd(16)}  ${event.instanceId.padEnd(10)}  ${shortPeerId(event.peerId)}`;
}
