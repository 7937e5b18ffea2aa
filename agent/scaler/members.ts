import type { StepMember } from '../../shared/scaling/step.ts';
import type { MemberView } from '../../shared/wire/cluster.ts';

/**
 * The cloud's alive members as the pure scaling step reads them. A member is ready once its
 * heartbeat reports a bundle applied with nothing newer in progress or failed (its verifiers
 * are part of the apply). Its metrics were sampled `metricsAgeMs` ago (unknown: now), less `lag`:
 * on a follower, the time since the leader's summary came (LoadExchange.viewLag), so a sample is
 * as old as it was when the leader sent it. Without it, above ~58 members (summaries every N s,
 * maxMetricAge 60 s) every sample expired between two summaries and the follower's rule windows
 * restarted at each, so a follower that became leader began every window from zero.
 */
export function stepMembers(members: readonly MemberView[], now: number, lag = 0): StepMember[] {
  return members
    .filter((m) => m.state === 'alive')
    .map((m) => {
      const at = now - Math.max(0, (m.metricsAgeMs ?? 0) - lag);
      const metrics: Record<string, { value: number | null; at: number }> = Object.create(null);
      for (const [name, value] of Object.entries(m.metrics)) metrics[name] = { value: value ?? null, at };
      return {
        id: m.instanceId,
        metrics,
        launchedAt: m.startedAt,
        ready: !!m.bundle?.applied && (m.bundle.state === undefined || m.bundle.state === 'ok'),
      };
    });
}
