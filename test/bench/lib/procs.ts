import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Every process the bench starts goes through here, so one call (or SIGINT, or the harness
 * exiting) kills them all. Kills by pid only, never by name.
 */
const children = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function start(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  return track(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'], ...opts }));
}

export function killAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  children.clear();
}

/** Kills `child` with SIGKILL and resolves when it has exited (bounded: 5 s). */
export async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
  child.kill('SIGKILL');
  await exited;
}

export function liveChildren(): number {
  return children.size;
}

const exitHooks = new Set<() => void>();

/**
 * Registers a synchronous cleanup (an iptables chain, detached agents) that also runs when the
 * harness exits or is interrupted; returns the unregister function. Each hook runs at most once.
 */
export function atExit(hook: () => void): () => void {
  exitHooks.add(hook);
  return () => {
    exitHooks.delete(hook);
  };
}

function runExitHooks(): void {
  for (const hook of [...exitHooks]) {
    exitHooks.delete(hook);
    try {
      hook();
    } catch (err) {
      process.stderr.write(`bench: cleanup failed: ${(err as Error).message}\n`);
    }
  }
}

let installed = false;
/** Kill every child on SIGINT/SIGTERM and on exit (a crash of the harness leaves nothing behind). */
export function installCleanup(extra: () => void = () => undefined): void {
  if (installed) return;
  installed = true;
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`bench: ${signal}, killing ${children.size} child processes\n`);
    killAll();
    runExitHooks();
    extra();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    killAll();
    runExitHooks();
  });
}

const TICKS = 100; // USER_HZ: clock ticks per second on Linux
const PAGE = 4096;

export interface ProcSample {
  /** user + system CPU time (s). */
  cpuS: number;
  /** VmRSS from /proc/<pid>/status (resident set: anon + file + shmem). */
  rssBytes: number;
  /** Bytes the process wrote (syscalls: sockets, pipes, files), from /proc/<pid>/io. */
  wcharBytes: number | null;
  /**
   * The main thread's voluntary context switches (/proc/<pid>/status): each time the event loop
   * blocked and was woken (a timer, a socket), so their rate is its wake-ups per second.
   */
  wakeups: number | null;
  atMs: number;
}

/** One reading of a process's CPU time, RSS and written bytes; null if it is gone. */
export function sampleProc(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(f[11]);
    const stime = Number(f[12]);
    let rssBytes = Number(f[21]) * PAGE;
    let wakeups: number | null = null;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
      if (m) rssBytes = Number(m[1]) * 1024;
      const v = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(status);
      if (v) wakeups = Number(v[1]);
    } catch {
      // stat's rss field (pages) stands in
    }
    let wchar: number | null = null;
    try {
      const io = readFileSync(`/proc/${pid}/io`, 'utf8');
      const m = /^wchar:\s+(\d+)/m.exec(io);
      wchar = m ? Number(m[1]) : null;
    } catch {
      wchar = null;
    }
    return { cpuS: (utime + stime) / TICKS, rssBytes, wcharBytes: wchar, wakeups, atMs: Date.now() };
  } catch {
    return null;
  }
}

/** CPU % of one core, bytes written and wake-ups per second between two samples of the same process. */
export function rates(
  a: ProcSample,
  b: ProcSample,
): { cpuPct: number; wcharPerS: number | null; wakeupsPerS: number | null } {
  const dt = (b.atMs - a.atMs) / 1000;
  return {
    cpuPct: dt > 0 ? ((b.cpuS - a.cpuS) / dt) * 100 : 0,
    wcharPerS: a.wcharBytes !== null && b.wcharBytes !== null && dt > 0 ? (b.wcharBytes - a.wcharBytes) / dt : null,
    wakeupsPerS: a.wakeups !== null && b.wakeups !== null && dt > 0 ? (b.wakeups - a.wakeups) / dt : null,
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
