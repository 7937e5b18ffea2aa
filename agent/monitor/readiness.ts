import type { BundleState } from '../../shared/wire/heartbeat.ts';

/** What readiness is judged from: plain values, so the rule is tested without an agent. */
export interface ReadinessInput {
  /** The agent has started and is not stopping. */
  running: boolean;
  /** The node is draining before its instance ends. */
  retiring: boolean;
  /** Bootstrap peers in the agent's config (0: it is the pool's first node). */
  seeds: number;
  /** Other members this agent sees alive. */
  othersAlive: number;
  bundle: { applied: string | null; target?: string | null | undefined; state: BundleState };
}

/** GET /ready: `ready` only when every check passes; each check says why it does not. */
export interface ReadyView {
  ready: boolean;
  checks: Record<'serving' | 'joined' | 'bundle', { ok: boolean; detail: string }>;
}

/**
 * Readiness for load balancers and systemd, apart from liveness (/health: the process answers).
 * A node is ready when it serves (started, not draining), has joined the pool (it sees another
 * member, or it was started as the first node), and has applied the bundle it should run (none
 * pending, fetching, applying or failed). A rollout therefore takes each node out while it applies.
 */
export function readiness(i: ReadinessInput): ReadyView {
  const serving = i.running && !i.retiring;
  const joined = i.seeds === 0 || i.othersAlive > 0;
  const { applied, target, state } = i.bundle;
  const bundleOk = state === 'ok' && (!target || target === applied);
  const checks: ReadyView['checks'] = {
    serving: { ok: serving, detail: !i.running ? 'not started or stopping' : i.retiring ? 'retiring' : 'serving' },
    joined: {
      ok: joined,
      detail:
        i.seeds === 0
          ? 'first node of the pool'
          : joined
            ? `${i.othersAlive} other members alive`
            : 'no other member seen yet',
    },
    bundle: {
      ok: bundleOk,
      detail: bundleOk
        ? applied
          ? `applied ${applied.slice(0, 12)}`
          : 'no bundle configured'
        : `${state} ${(target ?? '').slice(0, 12)}`.trim(),
    },
  };
  return { ready: serving && joined && bundleOk, checks };
}
