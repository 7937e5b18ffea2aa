import { existsSync, readFileSync } from 'node:fs';

/**
 * The fields of /proc/<pid>/stat after the name (state, ppid, …), or undefined when there is no
 * such process or no /proc. The name field may hold spaces and parentheses: the rest follows the
 * last ')'.
 */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The process state letter ('R', 'S', 'Z'…), or undefined when there is no such process or no /proc. */
export function procState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}

/** The parent's pid, or 0 when there is no such process or no /proc. */
export function parentPid(pid: number): number {
  return Number(statFields(pid)?.[1] ?? 0);
}

/**
 * Whether `pid` still runs. A zombie (exited, not yet reaped: a process killed under a parent that
 * never waits) counts as gone, though kill(pid, 0) still succeeds on it. Without /proc (macOS)
 * the signal is all there is.
 */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const state = procState(pid);
  if (state === undefined) return !existsSync('/proc/self');
  return state !== 'Z' && state !== 'X';
}
