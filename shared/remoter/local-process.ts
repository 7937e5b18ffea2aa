import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { AGENT_NODE_FLAGS } from '../agent-node-flags.ts';
import { RemoterError } from './types.ts';

/** Every agent's command line contains this; a recycled pid running something else does not. */
export const AGENT_MARKER = 'poolparty-agent';

/**
 * True when `pid` runs and is the agent we started: on Linux its /proc cmdline must contain
 * 'poolparty-agent' and `marker` (the instance's config path), and it must not be a zombie.
 * Without /proc only the pid is checked.
 */
export function isAgentAlive(pid: number, marker: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // No /proc at all (macOS): trust the pid. /proc but no such pid: it exited meanwhile.
    return code === 'ENOENT' && !procAvailable();
  }
  if (!cmdline.includes(AGENT_MARKER) || !cmdline.includes(marker)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function procAvailable(): boolean {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
}

/**
 * Signals the agent's process group (it was spawned detached, so its pgid is its pid): metric
 * commands it started go too. Falls back to the pid alone. Returns false if nothing was there.
 */
export function signalAgent(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

export interface SpawnAgentOptions {
  node: string;
  bin: string;
  configFile: string;
  logFile: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Starts `node <AGENT_NODE_FLAGS> <bin> --config <file>` detached, its stdout and stderr appended to `logFile`,
 * and unref'd so the caller (a CLI) can exit while the agent runs on. Returns the pid.
 */
export function spawnAgent(opts: SpawnAgentOptions): number {
  const fd = openSync(opts.logFile, 'a', 0o600);
  try {
    const child = spawn(opts.node, [...AGENT_NODE_FLAGS, opts.bin, '--config', opts.configFile], {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    // A failed exec is reported asynchronously; the pid check below already covers it.
    child.on('error', () => {});
    if (child.pid === undefined) throw new RemoterError(`cannot start ${opts.bin}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}
