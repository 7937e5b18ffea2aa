/**
 * Fault injection for crash tests: with POOLPARTY_FAULT_POINT=<name> in its environment, a process
 * that reaches `faultPoint(<name>)` SIGKILLs itself there, as a leader killed at that instant would
 * die. Without the variable it does nothing. Agents a launcher starts never inherit the variable.
 */

export const FAULT_POINT_ENV = 'POOLPARTY_FAULT_POINT';

/** Where a local launch can be cut short: before its write-ahead record, after it, after a spawn. */
export type LaunchFaultPoint = 'before-record' | 'after-record' | 'after-spawn';

export function faultPoint(name: LaunchFaultPoint, env: NodeJS.ProcessEnv = process.env): void {
  if (env[FAULT_POINT_ENV] === name) process.kill(process.pid, 'SIGKILL');
}

/** `env` without the fault variable: what a launcher passes on to the processes it starts. */
export function withoutFaultPoint(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env[FAULT_POINT_ENV] === undefined) return env;
  const { [FAULT_POINT_ENV]: _, ...rest } = env;
  return rest;
}
