import { availableParallelism, cpus, loadavg } from 'node:os';
import { ProcReader } from './proc-reader.ts';

/** The built-in metrics every agent samples. */
export interface SystemSample {
  /** 1-minute load average divided by the number of cores: 1 means every core is busy. */
  load: number;
  /** CPU busy percentage (0–100) since the previous sample. */
  cpu: number;
  /** Used memory percentage (0–100), page cache excluded. */
  mem: number;
}

/**
 * Samples the built-ins. Each call is cheap and never blocks the event loop: loadavg is a
 * syscall, cpu diffs the kernel's tick counters against the previous call (systeminformation's
 * currentLoad forks a shell per sample and measurably stalled agents on a loaded host), and mem
 * comes from /proc/meminfo. Memory uses `active` (total − available) rather than `used`, so
 * reclaimable page cache does not look like pressure.
 *
 * On Linux both come from one synchronous read each of /proc/stat and /proc/meminfo: procfs is
 * generated in the kernel and never waits on a disk, and an idle agent's profile showed the
 * asynchronous open/fstat/read/close and os.cpus() (which also reads /proc/cpuinfo for every
 * core's model) as 14 % of its CPU, once a second. The reads are preads on descriptors kept open
 * (proc-reader.ts): readFileSync of both was still 5 % of an idle follower's busy time.
 */
export async function sampleSystem(): Promise<SystemSample> {
  const mem = await memory();
  const cores = Math.max(1, availableParallelism());
  return {
    load: (loadavg()[0] ?? 0) / cores,
    cpu: clampPercent(cpuBusy()),
    mem: mem.total > 0 ? clampPercent((mem.active / mem.total) * 100) : Number.NaN,
  };
}

/**
 * Total and active memory in bytes. On Linux from /proc/meminfo, as systeminformation's mem()
 * computes it (active = MemTotal − MemAvailable; before Linux 3.14, without MemAvailable,
 * available = MemFree + Buffers + Cached + Slab). Elsewhere systeminformation itself, imported on
 * first use: its 300 kB of code would otherwise cost every agent memory for one read of one file.
 */
async function memory(): Promise<{ total: number; active: number }> {
  if (process.platform === 'linux') {
    const mem = parseMeminfo(readProc('/proc/meminfo'));
    if (mem) return mem;
  }
  const { default: si } = await import('systeminformation');
  return si.mem();
}

/** Total and active bytes from the text of /proc/meminfo; undefined without MemTotal. */
export function parseMeminfo(text: string): { total: number; active: number } | undefined {
  const kb: Record<string, number> = {};
  for (const m of text.matchAll(/^(MemTotal|MemAvailable|MemFree|Buffers|Cached|Slab):\s+(\d+) kB/gm))
    kb[m[1] as string] = Number(m[2]) * 1024;
  const total = kb.MemTotal;
  if (!total) return undefined;
  const available = kb.MemAvailable ?? (kb.MemFree ?? 0) + (kb.Buffers ?? 0) + (kb.Cached ?? 0) + (kb.Slab ?? 0);
  return { total, active: total - available };
}

/** Idle and total ticks of all cores from the aggregate `cpu` line of /proc/stat (iowait is idle). */
export function parseProcStat(text: string): { idle: number; total: number } | undefined {
  const line = /^cpu +([ \d]+)$/m.exec(text)?.[1];
  if (!line) return undefined;
  // user nice system idle iowait irq softirq steal (guest time is already in user and nice)
  const f = line.trim().split(/\s+/).slice(0, 8).map(Number);
  if (f.length < 4 || f.some((x) => !Number.isFinite(x))) return undefined;
  const total = f.reduce((a, b) => a + b, 0);
  return { idle: (f[3] ?? 0) + (f[4] ?? 0), total };
}

const proc = new ProcReader();

function readProc(path: string): string {
  return proc.read(path);
}

function cpuTicks(): { idle: number; total: number } {
  if (process.platform === 'linux') {
    const t = parseProcStat(readProc('/proc/stat'));
    if (t) return t;
  }
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

let previous: { idle: number; total: number } | undefined;

/** CPU busy % across all cores since the previous call (since boot on the first call). */
function cpuBusy(): number {
  const { idle, total } = cpuTicks();
  const before = previous;
  previous = { idle, total };
  const dTotal = before ? total - before.total : total;
  const dIdle = before ? idle - before.idle : idle;
  return dTotal > 0 ? (1 - dIdle / dTotal) * 100 : 0;
}

function clampPercent(value: number): number {
  return Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : Number.NaN;
}
