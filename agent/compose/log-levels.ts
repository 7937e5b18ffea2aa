import type { PoolEvent } from '../../shared/wire/cluster.ts';
import type { AgentLog } from '../types.ts';

/**
 * Which level each of the agent's log lines is written at, in one place. Components log through a
 * `(msg, fields)` callback and know nothing of levels (they know nothing of logging at all); the
 * composition picks the level here, by what the line means to an operator reading
 * `journalctl -p warning`:
 * - error: this node failed at something it was asked to do (an apply, a launch, a hook);
 * - warn: something was refused or lost that an operator may have to look at (a rejected
 *   message, a dial to a seed that failed, a timeout);
 * - info: what the pool did (joins, leaders, decisions, rollouts);
 * - debug: routine chatter that repairs itself (a sync with a peer that just left).
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
type LogFn = (msg: string, fields: Record<string, unknown>) => void;

/** A line's level from its message name, or from its fields where the name alone does not tell. */
export type LevelOf = (msg: string, fields: Record<string, unknown>) => Level;

/** The callback a component logs through, writing each line at the level `levelOf` picks. */
export function leveled(log: AgentLog, levelOf: LevelOf): LogFn {
  return (msg, fields) => log[levelOf(msg, fields)](msg, fields);
}

/** Names listed are written at their level, the rest at `otherwise`. */
export function byName(levels: Record<string, Level>, otherwise: Level): LevelOf {
  return (msg) => levels[msg] ?? otherwise;
}

/** A hook's result line: info when the hook succeeded, warn when it failed or timed out. */
const hookResult: LevelOf = (_msg, f) => (f.ok === false || f.timedOut === true ? 'warn' : 'info');

/** Membership (agent/membership/): a failed sync is retried at the next probe; a failed join dial is not. */
export const MEMBERSHIP_LEVELS = byName(
  {
    'membership-core-error': 'error',
    'tell-failed': 'error',
    'members-publish-failed': 'warn',
    'join-dial-failed': 'warn',
  },
  'debug',
);

/** The control router: a refused control message is a rejected message; the pool's stop notice is news. */
export const CONTROL_LEVELS = byName({ 'control-refused': 'warn', 'pool-stopping': 'info' }, 'warn');

/** The scaler (agent/scaler/): its decisions are events (eventLevel); its own lines are routine but one. */
export const SCALER_LEVELS = byName({ 'drain-timeout': 'warn' }, 'info');

/** Bundles (agent/bundle/): a refused push and a failed hook need a look; fetches and pushes are news. */
const bundleByName = byName({ 'bundle-push-refused': 'warn', 'hook-failed': 'error' }, 'info');
export const BUNDLE_LEVELS: LevelOf = (msg, f) => (msg === 'hook' ? hookResult(msg, f) : bundleByName(msg, f));

/** Retirement: its before-terminate hook's result. */
export const RETIREMENT_LEVELS: LevelOf = (msg, f) => (msg === 'before-terminate-hook' ? hookResult(msg, f) : 'info');

/** Readiness sent to systemd (agent/systemd-ready.ts). */
export const SYSTEMD_LEVELS = byName({ 'systemd-notify-failed': 'warn' }, 'info');

/**
 * A pool event's level. Every scaling decision is one event (the scaler records a repeated
 * "nothing to do" once, agent/scaler/decisions.ts), logged with its reason: a failed action is an
 * error, the rest news.
 */
export function eventLevel(e: PoolEvent): Level {
  switch (e.type) {
    case 'member-dead':
    case 'leader-lost':
    case 'rollout-halted':
    case 'upgrade-halted':
      return 'warn';
    case 'bundle-failed':
      return 'error';
    case 'scaling-decision':
      return e.result === 'failed' ? 'error' : 'info';
    default:
      return 'info';
  }
}
