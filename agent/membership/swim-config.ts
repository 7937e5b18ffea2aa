import type { AgentTunables } from '../../shared/config/tunables.ts';
import { defaultSwimConfig, type SwimConfig } from './swim/config.ts';

/** The membership core's configuration from the agent's tunables (see shared/config/tunables.ts). */
export function swimConfigOf(t: AgentTunables): SwimConfig {
  const d = defaultSwimConfig();
  return {
    ...d,
    rings: t.rings,
    probeInterval: t.heartbeatInterval,
    probeTimeout: Math.max(20, Math.round(t.heartbeatInterval * 0.4)),
    suspicionMinTimeout: t.suspectAfter,
    suspicionMaxTimeout: 4 * t.suspectAfter,
    refusedSuspicionTimeout: Math.max(50, Math.round(t.heartbeatInterval / 2)),
    stallThreshold: Math.max(t.stallThreshold, d.stallThreshold),
    reapAfter: t.reapAfter,
    // The shell's anti-entropy first compares a table hash (~100 B when views agree), so it can
    // run more often than memberlist's push-pull: a view left stale after a mass join heals in
    // ~10 s, not 30 s.
    syncInterval: Math.min(d.syncInterval, 10_000),
  };
}
