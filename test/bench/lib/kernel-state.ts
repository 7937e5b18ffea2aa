import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Where the kernel holds a process, read from /proc (Linux; /proc/PID/stack needs root). For the
 * quiet-machine wedge (issue 13, sessions 14–15: an agent at 0 % CPU after convergence whose
 * accept queue fills to 512, its monitor silent, SIGTERM ignored): a process in that state is
 * blocked in a system call or stopped, and these say which, in which thread, on what.
 */

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};
const link = (path: string): string | undefined => {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
};
const stateOf = (stat: string | undefined) => stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[0];

/** The state letter (R, S, D, T stopped, Z), wait channel and system call line of `pid`'s main thread. */
export function kernelState(pid: number): { state?: string; wchan?: string; syscall?: string } {
  return {
    state: stateOf(read(`/proc/${pid}/stat`)),
    wchan: read(`/proc/${pid}/wchan`),
    syscall: read(`/proc/${pid}/syscall`),
  };
}

/** x86-64 numbers of the calls a blocked Node main thread is most likely in. */
const SYSCALLS: Record<string, string> = {
  0: 'read',
  1: 'write',
  7: 'poll',
  20: 'writev',
  202: 'futex',
  232: 'epoll_wait',
  281: 'epoll_pwait',
  61: 'wait4',
};

/** Other processes holding the pipe `target` ("pipe:[123]"), as "pid comm fd N". */
function pipeHolders(target: string, except: number): string[] {
  const found: string[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === except) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${p}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds)
      if (link(`/proc/${p}/fd/${fd}`) === target) found.push(`${p} ${read(`/proc/${p}/comm`)} fd ${fd}`);
  }
  return found;
}

/**
 * The other end of the Unix socket `target` ("socket:[123]"; what spawn's stdio 'pipe' gives a
 * child), from `ss -xpn`: the peer's process and the bytes queued at each end (Recv-Q at the
 * reader: written by the child, not yet read).
 */
function socketPeer(target: string): string[] {
  const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
  let lines: string[] = [];
  try {
    lines = execFileSync('ss', ['-xpn'], { encoding: 'utf8', timeout: 5000 }).split('\n');
  } catch {
    return [];
  }
  const rows = lines.map((l) => l.trim().split(/\s+/));
  // u_str ESTAB recvQ sendQ localAddr localInode peerAddr peerInode users:((...))
  const own = rows.find((f) => f[5] === inode);
  if (!own) return [];
  const peer = rows.find((f) => f[5] === own[7]);
  return [
    `here: send-q ${own[3]} recv-q ${own[2]}`,
    ...(peer ? [`peer ${peer[5]}: recv-q ${peer[2]} send-q ${peer[3]} ${peer.slice(8).join(' ')}`] : []),
  ];
}

export interface WedgeReport {
  pid: number;
  at: number;
  state?: string;
  stat?: string;
  wchan?: string;
  syscall?: string;
  /** The call's name when its number is a common one (x86-64), and its first argument (the fd for read/write). */
  call?: string;
  stack?: string;
  /** State, signal masks (SigPnd/ShdPnd: a SIGTERM waiting is there), context switches. */
  status: Record<string, string>;
  threads: Array<{ tid: string; comm?: string; state?: string; wchan?: string; syscall?: string }>;
  /** fd → target; for fds 0–2 that are pipes or sockets, who holds the other end (who should read it), and what is queued. */
  fds: Record<string, string | undefined>;
  pipes: Record<string, string[]>;
  /** Every thread's native stack (gdb, when installed): which lock a thread in futex waits on, held by whom. */
  backtrace?: string;
}

const STATUS_KEYS =
  /^(State|SigQ|SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt|voluntary_ctxt_switches|nonvoluntary_ctxt_switches|Threads):/;

/** Everything /proc says about `pid` for a wedge, read before anything else touches it. */
export function wedgeReport(pid: number): WedgeReport {
  const base = `/proc/${pid}`;
  const stat = read(`${base}/stat`);
  const syscall = read(`${base}/syscall`);
  const nr = syscall?.split(' ')[0];
  const status: Record<string, string> = {};
  for (const line of (read(`${base}/status`) ?? '').split('\n'))
    if (STATUS_KEYS.test(line)) status[line.slice(0, line.indexOf(':'))] = line.slice(line.indexOf(':') + 1).trim();
  let tids: string[] = [];
  let fdList: string[] = [];
  try {
    tids = readdirSync(`${base}/task`);
    fdList = readdirSync(`${base}/fd`);
  } catch {
    // gone
  }
  const fds = Object.fromEntries(fdList.map((fd) => [fd, link(`${base}/fd/${fd}`)]));
  const pipes: Record<string, string[]> = {};
  for (const fd of ['0', '1', '2']) {
    const target = fds[fd];
    if (target?.startsWith('pipe:')) pipes[fd] = pipeHolders(target, pid);
    else if (target?.startsWith('socket:')) pipes[fd] = socketPeer(target);
  }
  return {
    pid,
    at: Date.now(),
    state: stateOf(stat),
    stat,
    wchan: read(`${base}/wchan`),
    syscall,
    call: nr === undefined ? undefined : `${SYSCALLS[nr] ?? nr}(${syscall?.split(' ')[1] ?? ''})`,
    stack: read(`${base}/stack`),
    status,
    threads: tids.map((tid) => {
      const t = `${base}/task/${tid}`;
      return {
        tid,
        comm: read(`${t}/comm`),
        state: stateOf(read(`${t}/stat`)),
        wchan: read(`${t}/wchan`),
        syscall: read(`${t}/syscall`),
      };
    }),
    fds,
    pipes,
    backtrace: nativeStacks(pid),
  };
}

/**
 * `thread apply all bt` of a live process by gdb (attached, then detached: the process goes on as
 * it was); undefined without gdb. The kernel's view ends at the system call: a main thread in
 * futex (session 18: p15 of an idle pool of 50, 0.1 % CPU, FUTEX_WAIT on a contended mutex while
 * every V8 worker waited on its condition variable) needs the user-space frames to say which lock.
 */
function nativeStacks(pid: number): string | undefined {
  try {
    return execFileSync('gdb', ['-p', String(pid), '-batch', '-nx', '-ex', 'thread apply all bt 40'], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const out = (err as { stdout?: string }).stdout;
    return out ? out : undefined;
  }
}

/**
 * Whether a short agent looks wedged: stopped (T, t), in uninterruptible sleep (D), at (nearly)
 * no CPU over the interval (an idle agent uses ≥ 0.5 %), or with half its accept queue full.
 */
export function looksWedged(s: { state?: string; cpuPct: number | null; queued?: number }): boolean {
  if (s.state === 'T' || s.state === 't' || s.state === 'D') return true;
  return (s.cpuPct !== null && s.cpuPct < 0.2) || (s.queued ?? 0) >= 256;
}
