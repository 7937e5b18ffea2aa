import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';

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
 * syscall, cpu diffs os.cpus() tick counters against the previous call (systeminformation's
 * currentLoad forks a shell per sample and measurably stalled agents on a loaded host), and mem
 * comes from an async read of /proc/meminfo. Memory uses `active` (total − available) rather than
 * `used`, so reclaimable page cache does not look like pressure.
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
    const text = await readFile('/proc/meminfo', 'utf8').catch(() => '');
    const kb = (key: string) => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
      return m ? Number(m[1]) * 1024 : undefined;
    };
    const total = kb('MemTotal');
    if (total) {
      const available =
        kb('MemAvailable') ?? (kb('MemFree') ?? 0) + (kb('Buffers') ?? 0) + (kb('Cached') ?? 0) + (kb('Slab') ?? 0);
      return { total, active: total - available };
    }
  }
  const { default: si } = await import('systeminformation');
  return si.mem();
}

let previous: { idle: number; total: number } | undefined;

/** CPU busy % across all cores since the previous call (since boot on the first call). */
function cpuBusy(): number {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  const before = previous;
  previous = { idle, total };
  const dTotal = before ? total - before.total : total;
  const dIdle = before ? idle - before.idle : idle;
  return dTotal > 0 ? (1 - dIdle / dTotal) * 100 : 0;
}

function clampPercent(value: number): number {
  return Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : Number.NaN;
}
