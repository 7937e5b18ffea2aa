import type { CloudScalingView } from '../../agent/monitor/pool-metrics.ts';
import type { MemberView } from '../../shared/wire/cluster.ts';

/** A member as GET /cluster shows it, with only what the dashboard's tests vary. */
export function memberView(
  instanceId: string,
  cloud: string,
  state: MemberView['state'],
  metrics: MemberView['metrics'] = {},
): MemberView {
  return {
    peerId: `peer-${instanceId}`,
    instanceId,
    cloud,
    state,
    addrs: [],
    monitor: '',
    lastSeenMs: 0,
    startedAt: 0,
    version: '0.1.0',
    metrics,
  };
}

/** A cloud's scaler view with one expand rule of one term that holds. */
export function scalingView(
  bounds: { min: number; max: number },
  instances: number | null,
  term: { text: string; threshold: number; value: number | null },
  heldForMs: number,
): CloudScalingView {
  return {
    bounds,
    instances,
    rules: { expand: { holds: true, sustain: { heldForMs }, terms: [term] }, contract: null },
  };
}
