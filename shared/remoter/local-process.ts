import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { sep } from 'node:path';
import { AGENT_NODE_FLAGS, agentNodeEnv } from '../agent-node-flags.ts';
import { procState } from './pid.ts';
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
  const state = procState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

export interface AgentProcess {
  pid: number;
  /** The path after `--config` on its command line. */
  configFile: string;
}

/**
 * Every running agent whose `--config` lies under `dir` (a local remoter's state dir), from the
 * process table: what a launcher that died left running is found here even though no record
 * names its pid. A child an agent forked but has not exec'd yet shows the agent's command line;
 * a match whose parent is a match is left out. Linux only (/proc); elsewhere none are found.
 */
export function findAgentProcesses(dir: string): AgentProcess[] {
  const prefix = dir.endsWith(sep) ? dir : `${dir}${sep}`;
  const found = new Map<number, AgentProcess>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited while we looked
    }
    const at = argv.indexOf('--config');
    const configFile = at >= 0 ? argv[at + 1] : undefined;
    if (!configFile?.startsWith(prefix) || !argv.some((a) => a.includes(AGENT_MARKER))) continue;
    const pid = Number(entry);
    if (isAgentAlive(pid, configFile)) found.set(pid, { pid, configFile });
  }
  return [...found.values()].filter((p) => !found.has(parentOf(p.pid)));
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
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
 * Starts `node <AGENT_NODE_FLAGS> <bin> --config <file>` detached, with AGENT_NODE_ENV under `env`,
 * its stdout and stderr appended to `logFile`, and unref'd so the caller (a CLI) can exit while the
 * agent runs on. Returns the pid.
 */
export function spawnAgent(opts: SpawnAgentOptions): number {
  const fd = openSync(opts.logFile, 'a', 0o600);
  try {
    const child = spawn(opts.node, [...AGENT_NODE_FLAGS, opts.bin, '--config', opts.configFile], {
      cwd: opts.cwd,
      env: agentNodeEnv(opts.env),
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
