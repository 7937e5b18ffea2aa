/**
 * A restart into another artifact, asked for by the upgrade component and carried out by the
 * process entry (agent/main.ts): the agent stops as on SIGTERM (a graceful leave hands leadership
 * over), then the process supervises the new artifact (agent/upgrade/supervisor.ts) — or, when
 * it already is a supervised child, simply exits and its supervisor starts the new one.
 */

/** Set in the environment of an agent a supervisor started. */
export const SUPERVISED_ENV = 'POOLPARTY_SUPERVISED';

let requested = false;

export function isSupervised(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[SUPERVISED_ENV] === '1';
}

/** Whether this process stops because it restarts into another artifact. */
export function restartRequested(): boolean {
  return requested;
}

/** Stops this agent the way SIGTERM does, marked as a restart. */
export function requestRestart(): void {
  requested = true;
  process.kill(process.pid, 'SIGTERM');
}
